/* ipv4.c: strict IPv4 address/prefix parsing and arithmetic, MAC parsing. */
#include <stdio.h>
#include <string.h>

#include "sync/ipv4.h"

int ip4_parse(const char *s, uint32_t *addr)
{
	uint32_t v = 0;
	int fields = 0;

	if (!s)
		return -1;
	if (strchr(s, ':'))
		return -2;
	while (fields < 4) {
		unsigned f = 0;
		int digits = 0;

		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return -1; /* leading zero */
		while (*s >= '0' && *s <= '9') {
			f = f * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || f > 255)
				return -1;
			s++;
		}
		if (!digits)
			return -1;
		v = (v << 8) | f;
		fields++;
		if (fields < 4) {
			if (*s != '.')
				return -1;
			s++;
		}
	}
	if (*s)
		return -1;
	*addr = v;
	return 0;
}

int ip4_parse_prefix(const char *s, struct ip4_prefix *p)
{
	char buf[32];
	const char *slash;
	size_t n;
	unsigned len = 0;
	int rc;

	if (!s)
		return -1;
	slash = strchr(s, '/');
	if (!slash)
		return strchr(s, ':') ? -2 : -1;
	n = (size_t)(slash - s);
	if (n >= sizeof(buf))
		return strchr(s, ':') ? -2 : -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	rc = ip4_parse(buf, &p->addr);
	if (rc)
		return rc;
	s = slash + 1;
	if (!*s || (*s == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		len = len * 10 + (unsigned)(*s - '0');
		if (len > 32)
			return -1;
	}
	p->len = (uint8_t)len;
	return 0;
}

uint32_t ip4_mask(uint8_t len)
{
	return len == 0 ? 0 : len >= 32 ? 0xFFFFFFFFu : ~((1u << (32 - len)) - 1);
}

uint32_t ip4_network(const struct ip4_prefix *p)
{
	return p->addr & ip4_mask(p->len);
}

uint32_t ip4_broadcast(const struct ip4_prefix *p)
{
	return ip4_network(p) | ~ip4_mask(p->len);
}

int ip4_canonical(const struct ip4_prefix *p)
{
	return p->addr == ip4_network(p);
}

int ip4_contains(const struct ip4_prefix *p, uint32_t addr)
{
	return (addr & ip4_mask(p->len)) == ip4_network(p);
}

int ip4_within(const struct ip4_prefix *inner, const struct ip4_prefix *outer)
{
	return inner->len >= outer->len && ip4_contains(outer, ip4_network(inner));
}

int ip4_overlap(const struct ip4_prefix *a, const struct ip4_prefix *b)
{
	uint8_t len = a->len < b->len ? a->len : b->len;
	uint32_t m = ip4_mask(len);

	return (a->addr & m) == (b->addr & m);
}

const char *ip4_format(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

const char *ip4_format_prefix(const struct ip4_prefix *p, char *buf)
{
	char a[16];

	snprintf(buf, 20, "%s/%u", ip4_format(p->addr, a), (unsigned)p->len);
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t out[6])
{
	size_t n;

	if (!s)
		return -1;
	n = strlen(s);
	if (n == 17 && (s[2] == ':' || s[2] == '-')) {
		char sep = s[2];

		for (int i = 0; i < 6; i++) {
			int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

			if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != sep))
				return -1;
			out[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	if (n == 14 && s[4] == '.' && s[9] == '.') {
		int k = 0;

		for (size_t i = 0; i < n; i++) {
			int hi, lo;

			if (i == 4 || i == 9)
				continue;
			hi = hexval(s[i]);
			lo = hexval(s[i + 1]);
			if (hi < 0 || lo < 0 || i + 1 == 4 || i + 1 == 9)
				return -1;
			out[k++] = (uint8_t)(hi << 4 | lo);
			i++;
		}
		return k == 6 ? 0 : -1;
	}
	return -1;
}
