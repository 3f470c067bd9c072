// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The sockfix companion: the library's connection settings for programs no
 * preload library reaches (static binaries, Go without cgo, io_uring), from
 * the kernel, for every TCP connection of a cgroup.
 *
 *   cgroup/setsockopt  notes which options the program sets itself
 *   sockops            TCP_CONNECT_CB (outgoing) and, with SOCKFIX_SERVER,
 *                      PASSIVE_ESTABLISHED_CB (accepted): keepalive, its
 *                      timers, TCP_USER_TIMEOUT, TCP_SYNCNT
 *   cgroup/connect4/6  SOCKFIX_BIND and SOCKFIX_PORTS, with bpf_bind
 *
 * The program's own options win, as with the library: what it set before
 * connecting is left alone (the setsockopt program saw it), what it sets
 * after connecting comes later anyway. SO_LINGER, the EINTR resumption and
 * the idle check are not reachable from here (bpf_setsockopt refuses
 * SO_LINGER; the others are not socket options).
 *
 * Built by cmd/build.rs with clang -target bpf; loaded by `sockfix bpf`.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sockfix.h"

/* From socket(7) and tcp(7): glibc's headers expect a host target, not
 * -target bpf. */
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOL_SOCKET 1
#define SO_KEEPALIVE 9
#define TCP_KEEPIDLE 4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6
#define TCP_SYNCNT 7
#define TCP_USER_TIMEOUT 18
#define PAGE_SIZE 4096
/* Ports tried in SOCKFIX_PORTS before the kernel's own choice. */
#define PORT_TRIES 32

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Two copies of the settings and the index of the one in use: `enable`
 * writes the other copy whole, then flips the index, so a connection sees
 * either the old settings or the new ones, never a mix and never none. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sf_settings);
} sockfix_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sockfix_current SEC(".maps");

/* SOCKFIX_BIND: the next address to use, so they are used in turn. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sockfix_next SEC(".maps");

/* What the program set on each socket. Cloned to accepted sockets
 * (BPF_F_CLONE), as the kernel copies the listener's options to them;
 * pinned by name, so every attached copy (the host's, a unit's) shares it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sf_sock);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sockfix_sock SEC(".maps");

static const struct sf_settings *settings(void)
{
	__u32 zero = 0;
	__u32 *cur = bpf_map_lookup_elem(&sockfix_current, &zero);
	if (!cur)
		return 0;
	__u32 which = *cur & 1;
	return bpf_map_lookup_elem(&sockfix_settings, &which);
}

/* A destination in the form the rules use: IPv4-mapped IPv6 addresses are
 * the IPv4 address they are (matching.rs does the same). */
struct dest {
	__u8 family;
	__u16 port;
	__u32 addr[4];
};

static void dest_from(struct dest *d, __u32 family, __u32 ip4, const __u32 ip6[4], __u16 port)
{
	d->port = port;
	if (family == AF_INET) {
		d->family = SF_V4;
		d->addr[0] = ip4;
	} else if (ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff)) {
		d->family = SF_V4;
		d->addr[0] = ip6[3];
	} else {
		d->family = SF_V6;
		d->addr[0] = ip6[0];
		d->addr[1] = ip6[1];
		d->addr[2] = ip6[2];
		d->addr[3] = ip6[3];
	}
}

/* Whether the first `bits` bits (0-32) of two network-order words agree. */
static int word_matches(__u32 a, __u32 b, int bits)
{
	if (bits <= 0)
		return 1;
	if (bits >= 32)
		return a == b;
	__u32 mask = bpf_htonl(~0u << (32 - bits));
	return ((a ^ b) & mask) == 0;
}

/* A global function: the verifier checks it once, not once per rule and
 * path of the loops that call it (which would pass its limit). */
__attribute__((noinline)) int rule_matches(const struct sf_rule *r, const struct dest *d)
{
	if (!r || !d)
		return 0;
	if (r->has_port && r->port != d->port)
		return 0;
	if (r->family == SF_ANY)
		return 1;
	if (r->family != d->family)
		return 0;
	if (d->family == SF_V4)
		return word_matches(r->addr[0], d->addr[0], r->prefix);
	for (int i = 0; i < 4; i++)
		if (!word_matches(r->addr[i], d->addr[i], r->prefix - 32 * i))
			return 0;
	return 1;
}

/* settings::Settings::for_dest: nothing outside SOCKFIX_DEST, else the
 * first matching profile, else the global settings. */
static const struct sf_conn *conn_for(const struct sf_settings *s, const struct dest *d)
{
	int in_scope = s->dest_any;
	__u32 ndest = s->ndest, nrules = s->nrules;
	for (__u32 i = 0; i < SF_MAX_RULES && !in_scope; i++) {
		if (i >= ndest)
			break;
		in_scope = rule_matches(&s->rules[i], d);
	}
	if (!in_scope)
		return 0;
	for (__u32 i = 0; i < SF_MAX_RULES; i++) {
		if (i < ndest)
			continue;
		if (i >= nrules)
			break;
		const struct sf_rule *r = &s->rules[i];
		if (rule_matches(r, d) && r->conn < SF_MAX_CONNS)
			return &s->conns[r->conn];
	}
	return &s->conns[0];
}

static struct sf_sock *sock_state(void *sk)
{
	return bpf_sk_storage_get(&sockfix_sock, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
}

/* Sets one integer option unless the program set it (bit `mine` in `set`). */
static void set_int(struct bpf_sock_ops *skops, __u32 set, __u32 mine, int level, int name, int value)
{
	if (set & mine)
		return;
	bpf_setsockopt(skops, level, name, &value, sizeof(value));
}

static void configure(struct bpf_sock_ops *skops, const struct sf_conn *c)
{
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return;
	struct sf_sock *st = sock_state(sk);
	if (!st || (st->set & SF_DONE))
		return;
	__u32 set = c->force ? 0 : st->set;
	if (c->keepalive) {
		set_int(skops, set, SF_SET_KEEPIDLE, IPPROTO_TCP, TCP_KEEPIDLE, c->keepidle);
		set_int(skops, set, SF_SET_KEEPINTVL, IPPROTO_TCP, TCP_KEEPINTVL, c->keepintvl);
		set_int(skops, set, SF_SET_KEEPCNT, IPPROTO_TCP, TCP_KEEPCNT, c->keepcnt);
		set_int(skops, set, SF_SET_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, 1);
	}
	if (c->user_timeout)
		set_int(skops, set, SF_SET_USER_TIMEOUT, IPPROTO_TCP, TCP_USER_TIMEOUT, c->user_timeout);
	if (c->syncnt && skops->op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		set_int(skops, set, SF_SET_SYNCNT, IPPROTO_TCP, TCP_SYNCNT, c->syncnt);
	st->set |= SF_DONE;
}

SEC("sockops")
int sockfix_sockops(struct bpf_sock_ops *skops)
{
	struct dest d = {};
	const struct sf_settings *s;
	const struct sf_conn *c;
	__u32 ip6[4];

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		s = settings();
		if (!s)
			return 1;
		ip6[0] = skops->remote_ip6[0];
		ip6[1] = skops->remote_ip6[1];
		ip6[2] = skops->remote_ip6[2];
		ip6[3] = skops->remote_ip6[3];
		dest_from(&d, skops->family, skops->remote_ip4, ip6, bpf_ntohl(skops->remote_port));
		c = conn_for(s, &d);
		if (c)
			configure(skops, c);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* As the library's accept hook: the global settings, for any peer. */
		s = settings();
		if (s && s->server)
			configure(skops, &s->conns[0]);
		break;
	}
	return 1;
}

/* Records the options sockfix sets when the program sets them itself. */
SEC("cgroup/setsockopt")
int sockfix_setsockopt(struct bpf_sockopt *ctx)
{
	__u32 bit = 0;
	int level = ctx->level, name = ctx->optname;

	/* Past a page the kernel shows the program a truncated copy: optlen 0
	 * tells it to use the program's own buffer unchanged. */
	if (ctx->optlen > PAGE_SIZE)
		ctx->optlen = 0;
	if (level == SOL_SOCKET && name == SO_KEEPALIVE)
		bit = SF_SET_KEEPALIVE;
	else if (level == IPPROTO_TCP && name == TCP_KEEPIDLE)
		bit = SF_SET_KEEPIDLE;
	else if (level == IPPROTO_TCP && name == TCP_KEEPINTVL)
		bit = SF_SET_KEEPINTVL;
	else if (level == IPPROTO_TCP && name == TCP_KEEPCNT)
		bit = SF_SET_KEEPCNT;
	else if (level == IPPROTO_TCP && name == TCP_USER_TIMEOUT)
		bit = SF_SET_USER_TIMEOUT;
	else if (level == IPPROTO_TCP && name == TCP_SYNCNT)
		bit = SF_SET_SYNCNT;
	if (bit && ctx->sk) {
		struct sf_sock *st = sock_state(ctx->sk);
		if (st)
			__sync_fetch_and_or(&st->set, bit);
	}
	return 1;
}

static __u32 next_index(void)
{
	__u32 zero = 0;
	__u32 *n = bpf_map_lookup_elem(&sockfix_next, &zero);
	return n ? __sync_fetch_and_add(n, 1) : bpf_get_prandom_u32();
}

/* Binds to `sa` (port 0: bpf_bind binds the address only, and the kernel
 * picks the port at connect, IP_BIND_ADDRESS_NO_PORT); with a port range,
 * random ports in it, a bounded number of times. 0 on success. */
static int bind_in_range(struct bpf_sock_addr *ctx, void *sa, int len, __u16 *port, const struct sf_conn *c)
{
	if (!c->port_lo)
		return bpf_bind(ctx, sa, len);
	__u32 size = (__u32)c->port_hi - c->port_lo + 1;
	__u32 start = bpf_get_prandom_u32() % size;
	for (__u32 i = 0; i < PORT_TRIES && i < size; i++) {
		*port = bpf_htons(c->port_lo + (start + i) % size);
		if (bpf_bind(ctx, sa, len) == 0)
			return 0;
	}
	return -1;
}

static int source(struct bpf_sock_addr *ctx, int v6_socket)
{
	struct dest d = {};
	const struct sf_settings *s;
	const struct sf_conn *c;
	struct bpf_sock *sk = ctx->sk;
	__u32 ip6[4];

	if (ctx->type != SOCK_STREAM || !sk)
		return 1;
	/* A socket the program bound itself keeps its source. */
	if (sk->src_port || sk->src_ip4 || sk->src_ip6[0] || sk->src_ip6[1] || sk->src_ip6[2] || sk->src_ip6[3])
		return 1;
	s = settings();
	if (!s)
		return 1;
	/* Each hook may read only its own family's address fields. */
	if (v6_socket) {
		ip6[0] = ctx->user_ip6[0];
		ip6[1] = ctx->user_ip6[1];
		ip6[2] = ctx->user_ip6[2];
		ip6[3] = ctx->user_ip6[3];
		dest_from(&d, AF_INET6, 0, ip6, bpf_ntohs(ctx->user_port));
	} else {
		ip6[0] = ip6[1] = ip6[2] = ip6[3] = 0;
		dest_from(&d, AF_INET, ctx->user_ip4, ip6, bpf_ntohs(ctx->user_port));
	}
	c = conn_for(s, &d);
	if (!c || (!c->port_lo && !c->nbind4 && !c->nbind6))
		return 1;

	__u32 n = d.family == SF_V4 ? c->nbind4 : c->nbind6;
	__u32 start = n ? next_index() : 0;
	/* No address of the destination's family: the port range alone. */
	for (__u32 k = 0; k < SF_MAX_BIND && (k < n || (k == 0 && n == 0)); k++) {
		__u32 i = n ? (start + k) % n : 0;
		if (i >= SF_MAX_BIND)
			break;
		if (!v6_socket) {
			struct sockaddr_in sa = { .sin_family = AF_INET };
			sa.sin_addr.s_addr = n ? c->bind4[i] : 0;
			if (bind_in_range(ctx, &sa, sizeof(sa), &sa.sin_port, c) == 0)
				return 1;
		} else {
			struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
			if (n && d.family == SF_V4) {
				/* A mapped destination: the IPv4 address, mapped. */
				sa.sin6_addr.in6_u.u6_addr32[2] = bpf_htonl(0xffff);
				sa.sin6_addr.in6_u.u6_addr32[3] = c->bind4[i];
			} else if (n) {
				sa.sin6_addr.in6_u.u6_addr32[0] = c->bind6[i][0];
				sa.sin6_addr.in6_u.u6_addr32[1] = c->bind6[i][1];
				sa.sin6_addr.in6_u.u6_addr32[2] = c->bind6[i][2];
				sa.sin6_addr.in6_u.u6_addr32[3] = c->bind6[i][3];
			}
			if (bind_in_range(ctx, &sa, sizeof(sa), &sa.sin6_port, c) == 0)
				return 1;
		}
	}
	/* Nothing could be bound: the kernel chooses, and the connect goes on. */
	return 1;
}

SEC("cgroup/connect4")
int sockfix_connect4(struct bpf_sock_addr *ctx)
{
	return source(ctx, 0);
}

SEC("cgroup/connect6")
int sockfix_connect6(struct bpf_sock_addr *ctx)
{
	return source(ctx, 1);
}
