/*
 * policy — the IPsec policy model: the entities of a Windows IPsec policy
 * store, their allowed values, their defaults and their validation.
 *
 * This module is the single definition of what a filter, a filter action, a
 * security method or a rule is. The store, the netsh language and (later) the
 * directory and the agent all go through it; nothing else validates values.
 * Every rejection goes through a struct diag and names the parameter, the bad
 * value and what is allowed.
 */
#ifndef SECPOL_POLICY_H
#define SECPOL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/diag.h"

#define POLICY_NAME_MAX   256   /* bytes incl. NUL: names of every object kind */
#define POLICY_DESC_MAX   512
#define POLICY_SECRET_MAX 512   /* preshared key, root CA distinguished name */
#define POLICY_GUID_LEN   39    /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" + NUL */
#define POLICY_MAX_METHODS 10   /* offers per qmsecmethods / mmsecmethods list */
#define POLICY_MAX_AUTH    8    /* authentication methods per rule */

/* ---- addresses ------------------------------------------------------- */

struct ip_address {
	uint8_t family;              /* AF_INET or AF_INET6 */
	uint8_t bytes[16];           /* network order; IPv4 uses the first 4 */
};

enum addr_kind {
	ADDR_HOST_OR_SUBNET,         /* ip + prefix */
	ADDR_RANGE,                  /* ip .. last, inclusive */
	ADDR_ANY,
	ADDR_ME,
	ADDR_DNS_SERVERS,            /* the server keywords: expanded at apply time */
	ADDR_WINS_SERVERS,
	ADDR_DHCP_SERVER,
	ADDR_GATEWAY,
};

struct filter_addr {
	enum addr_kind kind;
	struct ip_address ip;        /* stored already masked */
	struct ip_address last;      /* ADDR_RANGE only */
	uint8_t prefix;              /* ADDR_HOST_OR_SUBNET: 0..32 or 0..128 */
};

/*
 * What an address value can be besides a literal: parse_address() reports a
 * name it could not read as an address so that the caller (which owns name
 * resolution) can resolve it once, as netsh does.
 */
enum addr_parse {
	ADDR_PARSE_OK,
	ADDR_PARSE_DNS_NAME,         /* syntactically a host name: resolve it */
	ADDR_PARSE_ERROR,            /* diag filled */
};

enum addr_parse policy_parse_address(const char *tag, const char *text,
                                     struct filter_addr *out, struct diag *d);
/* Applies a mask value ("255.255.255.0", "24") to a host/subnet address. */
bool policy_apply_mask(const char *tag, const char *text, struct filter_addr *a,
                       struct diag *d);
bool policy_parse_ip(const char *text, struct ip_address *out);
bool policy_is_hostname(const char *text);
/* Canonical text: "me", "any", "dns", "10.1.2.0/24", "2001:db8::1/128", "a-b". */
void policy_format_address(const struct filter_addr *a, char *buf, size_t len);
void policy_format_ip(const struct ip_address *ip, char *buf, size_t len);
/* Parses the canonical text back (the store's column format). */
bool policy_address_from_canonical(const char *text, struct filter_addr *out);
/* Netsh display forms: address ("<My IP Address>", "10.1.2.0") and mask. */
void policy_display_address(const struct filter_addr *a, char *buf, size_t len);
void policy_display_mask(const struct filter_addr *a, char *buf, size_t len);
bool policy_address_is_server(const struct filter_addr *a);

/* ---- scalar values ----------------------------------------------------- */

bool policy_parse_bool(const char *tag, const char *text, bool *out, struct diag *d);
bool policy_parse_uint(const char *tag, const char *text, uint32_t min,
                       uint32_t max, uint32_t *out, struct diag *d);
bool policy_parse_protocol(const char *tag, const char *text, uint8_t *out,
                           struct diag *d);
bool policy_parse_port(const char *tag, const char *text, uint16_t *out,
                       struct diag *d);
const char *policy_protocol_name(uint8_t proto, char *buf, size_t len);
bool policy_parse_guid(const char *text);
void policy_new_guid(char out[POLICY_GUID_LEN]);

/* ---- the service's settings (`dynamic set config`) ------------------------- */

enum service_kind { SETTING_UINT, SETTING_WORD, SETTING_EXEMPTIONS, SETTING_ENDPOINT };
struct service_setting {
	const char *name;            /* "bootmode" */
	const char *label;           /* "Boot Mode", as `show config` prints it */
	const char *def;             /* the default, as text */
	enum service_kind kind;
	uint32_t min, max;           /* SETTING_UINT */
	const char *words;           /* SETTING_WORD: the allowed values, space-separated */
};
const struct service_setting *policy_service_settings(size_t *n);
const struct service_setting *policy_service_setting(const char *name);
/* Checks value for s; norm receives its canonical text. */
bool policy_check_service_setting(const struct service_setting *s, const char *value,
                                  char *norm, size_t len, struct diag *d);

/* A local TCP endpoint (`metrics`): "none" (*port = 0), "192.0.2.1:9567" or
 * "[2001:db8::1]:9567". The unspecified address (0.0.0.0, ::) is refused:
 * the endpoint is on one address the administrator chose. */
bool policy_parse_endpoint(const char *tag, const char *text, struct ip_address *ip,
                           uint16_t *port, struct diag *d);
/* Its canonical text (as above); "none" when port is 0. */
void policy_format_endpoint(const struct ip_address *ip, uint16_t port, char *out, size_t len);

#define POLICY_MAX_BOOT_EXEMPTIONS 64
/* One `bootexemptions` entry: Protocol:SrcPort:DstPort:Direction. */
struct boot_exemption {
	uint8_t protocol;            /* 0 = any */
	uint16_t src_port, dst_port; /* 0 = any */
	bool inbound;
};
/* "none" or a space-separated list; *n = 0 for none. */
bool policy_parse_boot_exemptions(const char *text, struct boot_exemption *out, size_t max,
                                  size_t *n, struct diag *d);

/* ---- security methods ---------------------------------------------------- */

enum esp_conf {                  /* ESP confidentiality (quick mode) */
	CONF_NONE, CONF_DES, CONF_3DES, CONF_AES128, CONF_AES192, CONF_AES256,
	CONF_AESGCM128, CONF_AESGCM192, CONF_AESGCM256, CONF_CHACHA20POLY1305,
};
enum integ_alg {                 /* AH / ESP integrity, MM hash */
	INTEG_NONE, INTEG_MD5, INTEG_SHA1, INTEG_SHA256, INTEG_SHA384, INTEG_SHA512,
};

#define QM_DEFAULT_LIFE_KB 100000u
#define QM_DEFAULT_LIFE_S  3600u

/* One quick-mode offer: ESP[c,i], AH[h] or AH[h]+ESP[c,i], with lifetimes. */
struct security_method {
	bool ah, esp;
	enum integ_alg ah_integ;
	enum esp_conf esp_conf;
	enum integ_alg esp_integ;
	uint32_t life_kb, life_s;
};

struct qm_methods {
	struct security_method m[POLICY_MAX_METHODS];
	size_t n;
};

/* One main-mode offer: ConfAlg-HashAlg-Group. */
struct mm_method {
	enum esp_conf conf;          /* DES, 3DES, AES*, AESGCM* */
	enum integ_alg hash;
	uint8_t group;               /* 1, 2, 3 (= 2048-bit, IKE 14), 14, 19, 20, 21, 24, 31 */
};

struct mm_methods {
	struct mm_method m[POLICY_MAX_METHODS];
	size_t n;
};

bool policy_parse_qmsec(const char *tag, const char *text, struct qm_methods *out,
                        struct diag *d);
void policy_format_qmsec(const struct qm_methods *q, char *buf, size_t len);
void policy_format_security_method(const struct security_method *m, char *buf,
                                   size_t len);
bool policy_parse_mmsec(const char *tag, const char *text, struct mm_methods *out,
                        struct diag *d);
void policy_format_mmsec(const struct mm_methods *m, char *buf, size_t len);
const char *policy_conf_name(enum esp_conf c);
const char *policy_integ_name(enum integ_alg i);
const char *policy_group_label(uint8_t group); /* "Medium(2)", "DH2048(14)", "ECP256(19)" */

/* Crypto profile (best-practices.md §3): selects defaults only. */
enum crypto_profile { PROFILE_MODERN, PROFILE_LEGACY };
void policy_default_qmsec(enum crypto_profile p, struct qm_methods *out);
void policy_default_mmsec(enum crypto_profile p, struct mm_methods *out);

/* ---- entities ---------------------------------------------------------- */

struct filter {
	char description[POLICY_DESC_MAX];
	struct filter_addr src, dst;
	uint8_t protocol;            /* 0 = any */
	uint16_t srcport, dstport;   /* 0 = any */
	bool mirrored;
};

struct filter_list {
	char guid[POLICY_GUID_LEN];
	char name[POLICY_NAME_MAX];
	char description[POLICY_DESC_MAX];
	int64_t modified;            /* Unix time */
	struct filter *filters;      /* owned; policy_filter_list_free() */
	size_t nfilters;
};

enum filter_action_kind { ACTION_PERMIT, ACTION_BLOCK, ACTION_NEGOTIATE };

struct filter_action {
	char guid[POLICY_GUID_LEN];
	char name[POLICY_NAME_MAX];
	char description[POLICY_DESC_MAX];
	int64_t modified;
	enum filter_action_kind action;
	bool inpass, soft, qmpfs;
	struct qm_methods methods;   /* empty unless action == negotiate */
};

enum auth_kind { AUTH_KERBEROS, AUTH_PSK, AUTH_CERT };

struct auth_method {
	enum auth_kind kind;
	char value[POLICY_SECRET_MAX]; /* PSK, or the root CA DN */
	bool certmap, excludecaname;
};

struct auth_methods {
	struct auth_method m[POLICY_MAX_AUTH];
	size_t n;
};

enum conn_type { CONN_ALL, CONN_LAN, CONN_DIALUP };

struct rule {
	char guid[POLICY_GUID_LEN];
	char name[POLICY_NAME_MAX];
	char description[POLICY_DESC_MAX];
	int64_t modified;
	unsigned id;                 /* 1..n in creation order; default rule last */
	bool is_default;             /* the default response rule */
	bool active;
	char filterlist[POLICY_NAME_MAX];   /* empty for the default response rule */
	char filteraction[POLICY_NAME_MAX]; /* empty for the default response rule */
	bool has_tunnel;
	struct ip_address tunnel;
	enum conn_type conntype;
	struct auth_methods auth;
	/* The default response rule carries its own negotiation settings. */
	bool qmpfs;
	struct qm_methods methods;
};

struct policy {
	char guid[POLICY_GUID_LEN];
	char name[POLICY_NAME_MAX];
	char description[POLICY_DESC_MAX];
	int64_t modified;
	bool assigned;
	uint32_t pollinginterval;    /* minutes */
	/* main-mode (ISAKMP) settings */
	bool mmpfs;
	uint32_t qmpermm;            /* 0 = unlimited; forced to 1 by mmpfs */
	uint32_t mmlifetime;         /* minutes */
	struct mm_methods mm;
	struct rule *rules;          /* owned; the default response rule is last */
	size_t nrules;
};

/* Defaults (windows-ipsec-model.md §7). */
#define POLICY_DEFAULT_POLLING   180u
#define POLICY_DEFAULT_MMLIFE    480u
#define POLICY_MMLIFE_MIN        5u
#define POLICY_MMLIFE_MAX        2879u
#define POLICY_POLLING_MIN       1u
#define POLICY_POLLING_MAX       43200u

void policy_filter_init(struct filter *f);
void policy_filter_action_init(struct filter_action *fa, enum crypto_profile p);
void policy_policy_init(struct policy *p, enum crypto_profile prof);
void policy_rule_init(struct rule *r);
void policy_default_rule_init(struct rule *r, enum crypto_profile prof);

bool policy_validate_name(const char *tag, const char *name, struct diag *d);
bool policy_validate_description(const char *tag, const char *text, struct diag *d);
bool policy_validate_filter(const struct filter *f, struct diag *d);
bool policy_validate_filter_action(struct filter_action *fa, struct diag *d);
bool policy_validate_policy(struct policy *p, struct diag *d);
/* Filters of a list referenced by a tunnel rule must be one-way (05034). */
bool policy_validate_tunnel_filters(const struct filter_list *fl, struct diag *d);
bool policy_parse_conntype(const char *tag, const char *text, enum conn_type *out,
                           struct diag *d);
const char *policy_conntype_name(enum conn_type c);
bool policy_parse_action(const char *tag, const char *text,
                         enum filter_action_kind *out, struct diag *d);
const char *policy_action_name(enum filter_action_kind a);
/* Adds one kerberos / psk / rootca method, in command-line order. */
bool policy_auth_add(struct auth_methods *am, enum auth_kind kind,
                     const char *value, struct diag *d);
bool policy_filter_equal(const struct filter *a, const struct filter *b);
/* Matching for `delete filter`: the pattern's unset optional fields match anything. */
struct filter_pattern {
	struct filter_addr src, dst;
	bool has_protocol, has_srcport, has_dstport, has_mirrored,
	     has_srcmask, has_dstmask;
	uint8_t protocol;
	uint16_t srcport, dstport;
	bool mirrored;
};
bool policy_filter_matches(const struct filter *f, const struct filter_pattern *p);

void policy_filter_list_free(struct filter_list *fl);
void policy_free(struct policy *p);

/* ---- predefined sample objects (windows-ipsec-model.md §4) ------------------ */

size_t policy_predefined_filter_lists(const struct filter_list **out);
size_t policy_predefined_filter_actions(const struct filter_action **out);
/* The rules of predefined policy i (default response rule last). */
size_t policy_predefined_policies(const struct policy **out);

#endif
