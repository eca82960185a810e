// Package relay is the SMTP side of `m365send relay`: it accepts mail from
// devices and applications that speak SMTP with a password (printers,
// scanners, line-of-business applications) and hands each message to a
// durable queue (package queue), from which it is delivered to Exchange
// Online through a profile's mailbox.
//
// The relay is never an open relay. A client either authenticates with
// AUTH PLAIN or LOGIN (offered only inside TLS, unless a listener allows
// plaintext for named networks) as a user from the `[[relay.users]]` table,
// or connects from a network of `[[relay.networks]]`. Each user and each
// network may send only as the profiles it is given; the profile is chosen
// from the envelope sender (MAIL FROM).
//
// A message is acknowledged with 250 only after queue.Queue.Enqueue
// returned, that is once it is durable.
//
// # Configuration
//
// The [relay] table of the configuration file (every key optional):
//
//	[relay]
//	listen = ["127.0.0.1:2525"]        # STARTTLS listeners (the default)
//	listen_tls = ["0.0.0.0:465"]       # implicit-TLS listeners
//	hostname = "relay.contoso.com"     # greeting and generated certificate
//	tls_cert_file = "/etc/m365send/relay.pem"  # both, or neither for a
//	tls_key_file = "/etc/m365send/relay.key"   # generated self-signed one
//	max_size = 36700160                # bytes (35 MB)
//	max_recipients = 500
//	max_connections_per_client = 20
//	read_timeout = "5m"
//	write_timeout = "5m"
//	shutdown_grace = "30s"             # after SIGTERM, for transactions in progress
//	metrics_listen = "127.0.0.1:9465" # Prometheus /metrics and /healthz (default: none)
//
//	[[relay.listeners]]                # a listener with its own settings
//	address = "0.0.0.0:2526"
//	implicit_tls = false
//	min_tls = "1.0"                    # default "1.2"; only for old devices
//	allow_plaintext_auth = ["printers"] # networks that may AUTH without TLS
//
//	[[relay.users]]
//	name = "scanner"
//	password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..." # m365send relay passwd
//	profiles = ["office"]              # sends as office's mailbox
//	senders = ["scans@contoso.com", "@scans.contoso.com"] # also these, through the first profile
//	rewrite_from = "office"            # optional: every message as office's mailbox
//
//	[[relay.networks]]                 # no AUTH, like an Exchange IP connector
//	name = "printers"
//	cidr = ["192.0.2.0/24", "2001:db8::7"]
//	profiles = ["office"]
//
// # Replies
//
// Refusals, each logged with the client's address and user:
//
//   - 538 5.7.11 AUTH before STARTTLS (RFC 4954 section 6);
//   - 535 5.7.8 a wrong password or an unknown user (the same reply, and
//     the same argon2id cost);
//   - 530 5.7.0 MAIL FROM without AUTH from a network not configured:
//     authentication is what would make it acceptable (RFC 4954 section
//     6), where 550 5.7.1 would tell the client to give up;
//   - 550 5.7.1 a sender the user or network may not use, or the null
//     sender;
//   - 452 4.5.3 the recipient after the 500th (RFC 5321 section
//     4.5.3.1.10: the client sends the rest in another transaction);
//   - 552 5.3.4 a message over max_size, seen while receiving, or
//     declared with MAIL FROM's SIZE (that one is refused by go-smtp
//     before the relay sees it, and is not logged);
//   - 554 5.6.0 a message line over go-smtp's limit (2000 characters;
//     RFC 5321 section 4.5.3.1.6 allows 1000);
//   - 451 4.3.0 the queue could not store the message;
//   - 421 4.7.0 more than max_connections_per_client connections.
package relay
