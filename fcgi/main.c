/* main.c: the hedgesync command line. */
#include <stdio.h>
int main(void) { puts("hedgesync " HS_VERSION); return 0; }
