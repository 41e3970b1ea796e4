/* cli_validate.h: the "validate" and "ingest" verbs of the hedgesync command line.
 *
 *   hedgesync validate [--format text|github|json] [--partial] PATH...
 *   hedgesync ingest --dry-run [--format text|json] DIR
 *
 * argv[0] is the verb itself.  Both print to stdout and return the process
 * exit status: 0 clean, 1 errors found (validate), 2 usage or I/O failure.
 */
#ifndef HS_CLI_VALIDATE_H
#define HS_CLI_VALIDATE_H

int cli_validate_main(int argc, char **argv);
int cli_ingest_main(int argc, char **argv);

#endif
