/* The settings the companion's programs read, as `sockfix bpf enable`
 * writes them (cmd/src/bpf/layout.rs mirrors every struct here, field for
 * field; both sides assert the sizes). All of it is built from the same
 * settings code as the library's, so a key means the same in both.
 *
 * Byte order: addresses in network order, as the kernel gives them in
 * bpf_sock_ops and bpf_sock_addr; ports and counts in host order.
 */
#ifndef SOCKFIX_BPF_H
#define SOCKFIX_BPF_H

#include <linux/types.h>

/* SOCKFIX_DEST rules plus the rules of every [dest] profile. */
#define SF_MAX_RULES 64
/* The global settings (index 0) and up to 31 [dest] profiles. */
#define SF_MAX_CONNS 32
/* SOCKFIX_BIND addresses of each family. */
#define SF_MAX_BIND 8

/* struct sf_rule.family: any address, IPv4, IPv6. */
#define SF_ANY 0
#define SF_V4 4
#define SF_V6 6

/* One destination rule: an address block and an optional port. */
struct sf_rule {
	__u8 family;   /* SF_ANY, SF_V4, SF_V6 */
	__u8 prefix;   /* prefix length in bits */
	__u8 has_port;
	__u8 conn;     /* profile rules: index into sf_settings.conns */
	__u16 port;    /* host order */
	__u16 pad;
	__u32 addr[4]; /* IPv4 in addr[0]; network order */
};

/* What a matched connection gets: the connection keys (settings::Conn). */
struct sf_conn {
	__u8 keepalive;       /* SOCKFIX_KEEPALIVE */
	__u8 force;           /* SOCKFIX_FORCE: win over the program's options */
	__u8 nbind4, nbind6;  /* SOCKFIX_BIND addresses of each family */
	__u32 keepidle;       /* TCP_KEEPIDLE, s */
	__u32 keepintvl;      /* TCP_KEEPINTVL, s */
	__u32 keepcnt;        /* TCP_KEEPCNT */
	__u32 user_timeout;   /* TCP_USER_TIMEOUT, ms; 0: not set */
	__u32 syncnt;         /* TCP_SYNCNT from SOCKFIX_CONNECT_TIMEOUT; 0: not set */
	__u16 port_lo, port_hi; /* SOCKFIX_PORTS; 0, 0: not set */
	__u32 bind4[SF_MAX_BIND];
	__u32 bind6[SF_MAX_BIND][4];
};

struct sf_settings {
	__u32 server;   /* SOCKFIX_SERVER: accepted connections too */
	__u32 dest_any; /* SOCKFIX_DEST is * */
	__u32 ndest;    /* rules[0, ndest): SOCKFIX_DEST */
	__u32 nrules;   /* rules[ndest, nrules): [dest] profiles, in file order */
	struct sf_rule rules[SF_MAX_RULES];
	struct sf_conn conns[SF_MAX_CONNS];
};

/* Options the program set itself (sf_sock.set), one bit each; the
 * companion leaves them alone unless SOCKFIX_FORCE. */
#define SF_SET_KEEPALIVE (1u << 0)
#define SF_SET_KEEPIDLE (1u << 1)
#define SF_SET_KEEPINTVL (1u << 2)
#define SF_SET_KEEPCNT (1u << 3)
#define SF_SET_USER_TIMEOUT (1u << 4)
#define SF_SET_SYNCNT (1u << 5)
/* Configured by a companion already (one nearer the socket's cgroup). */
#define SF_DONE (1u << 31)

/* Per socket, in socket-local storage shared by every attached copy. */
struct sf_sock {
	__u32 set;
};

#endif
