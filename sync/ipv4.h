/* ipv4.h: IPv4 addresses, prefixes and MAC addresses as Go's netip reads them.
 *
 * Strict forms only, as github.com/... netip.ParseAddr and ParsePrefix
 * accept them for IPv4: four decimal fields 0..255 without leading zeros,
 * and a prefix length 0..32 without leading zeros.  Addresses are host-order
 * uint32.  Pure functions; thread-safe.
 */
#ifndef HS_IPV4_H
#define HS_IPV4_H

#include <stddef.h>
#include <stdint.h>

struct ip4_prefix {
	uint32_t addr; /* as written (host bits may be set) */
	uint8_t len;
};

/* 0 on success; -1 malformed; -2 an IPv6 address (not supported). */
int ip4_parse(const char *s, uint32_t *addr);
int ip4_parse_prefix(const char *s, struct ip4_prefix *p);

uint32_t ip4_mask(uint8_t len);
uint32_t ip4_network(const struct ip4_prefix *p);
uint32_t ip4_broadcast(const struct ip4_prefix *p);
int ip4_canonical(const struct ip4_prefix *p); /* no host bits set */
int ip4_contains(const struct ip4_prefix *p, uint32_t addr);
/* inner lies entirely within outer */
int ip4_within(const struct ip4_prefix *inner, const struct ip4_prefix *outer);
int ip4_overlap(const struct ip4_prefix *a, const struct ip4_prefix *b);
/* "a.b.c.d" into buf (16 bytes) / "a.b.c.d/n" into buf (20 bytes) */
const char *ip4_format(uint32_t addr, char *buf);
const char *ip4_format_prefix(const struct ip4_prefix *p, char *buf);

/* Go net.ParseMAC for 6-byte addresses: 01:23:45:67:89:ab, 01-23-45-67-89-ab
 * or 0123.4567.89ab.  0 on success. */
int mac_parse(const char *s, uint8_t out[6]);

#endif
