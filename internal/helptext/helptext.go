// Package helptext holds the long help and the examples of m365send's
// commands (cobra's Long and Example), which "m365send help" prints and
// the manual pages (docs/man) are generated from; docs/commands.md says
// the same at more length, so a change here goes there too. The commands in
// cmd/m365send declare their flags and call the packages that do the
// work; what they say about themselves is here, in one place to read and
// edit.
package helptext

// Doctor is the long help of `m365send doctor`.
const Doctor = `Doctor checks a profile step by step and says what to fix:

  config      the configuration file, environment and secret
  token       getting an access token from Entra ID
  claims      the token's audience (Exchange Online of the profile's cloud),
              its permission (roles SMTP.SendAsApp for an app, scp SMTP.Send
              for a person), its expiry and its tenant
  dns         resolving the SMTP host
  tcp         connecting to it and reading its greeting
  starttls    upgrading to TLS 1.2 or later, verifying the certificate
  mechanisms  AUTH XOAUTH2 advertised after STARTTLS
  auth        an actual AUTH XOAUTH2 with the token (no mail is sent)
  graph       a Microsoft Graph token with Mail.Send, the other transport;
              only a warning unless the profile's transport is graph (or
              auto, with SMTP failing: then SMTP's failures are warnings)
  queue       when the queue is a PostgreSQL database: the connection and
              the schema version
  relay       when the file has a [relay] table: relay --check's checks,
              and the relay certificate's SHA-256 fingerprint for devices
              to pin

Each step prints "ok" or "FAIL" with the fix. An AZURE_* variable that
overrides a value the configuration file sets is warned about; -v also
lists where every value came from (file and line, variable, default). The network steps run even
when the token fails, so one run shows everything that is wrong. The exit
status is that of the first failure (see "m365send --help"), 0 when all
steps pass.`

// Init is the long help of `m365send init`.
const Init = `Init writes a first configuration file: one profile with its flow, tenant,
client ID, credential and mailbox.

At a terminal it asks for whatever the flags do not give (a client secret
can be pasted: it is kept in a 0600 file next to the configuration, never
in it). Without a terminal (a script, provisioning) the flags are all
there is: --tenant and --client-id are required, and a client_credentials
profile needs one credential flag.

The profile is checked exactly as every command checks it (a certificate
must hold its key and be mode 0600, a GUID must be a GUID, ...) before
anything is written; the file is written with mode 0600 to --config, else
$M365SEND_CONFIG, else $XDG_CONFIG_HOME/m365send/config.toml, else
~/.config/m365send/config.toml. A file that exists gets the profile added
at its end; a profile already in it is refused. --profile names the
profile ("default" when not given; another name becomes the new file's
default_profile).

Relative paths given as flags are taken from the current directory and
written in full; in the file, a relative path is relative to the file's
folder and "~/" is the home folder.

Afterwards init offers to check the profile with "m365send doctor" (--doctor
checks without asking); a device_code profile signs in first with
"m365send login".`

// InitExample holds the examples of `m365send init`.
const InitExample = `  m365send init
  m365send init --tenant contoso.onmicrosoft.com --client-id 00000000-0000-0000-0000-000000000000 \
      --certificate-file app.pem --mailbox alerts@contoso.com --doctor
  m365send init --profile me --flow device_code --tenant contoso.onmicrosoft.com \
      --client-id 11111111-1111-1111-1111-111111111111`

// Login is the long help of `m365send login`.
const Login = `Login signs a person in, for a profile with flow = "device_code", and
caches the account and its refresh token in the profile's sign-in file
(mode 0600), so later sends, tokens and doctor runs need no sign-in until
Entra ID ends the session (90 days without use, a sign-in frequency
policy, a password reset, or an admin's revocation).

How the person signs in:

  browser (the default when a browser can be opened here: $BROWSER, or a
  graphical session, macOS or Windows): the sign-in page opens in the
  browser; after the sign-in (MFA included) Entra ID sends the browser back
  to m365send on localhost. This is the authorization-code flow with PKCE,
  which Conditional Access policies that block device code allow.

  --no-browser (paste-back, for a remote shell): m365send prints the
  sign-in address; open it on any machine, sign in, and paste the address
  the browser ends on (http://localhost/?code=..., a page that does not
  load) back into m365send.

  --device-code (also the default when no browser can be opened): open the
  printed address on any device, enter the code, sign in.

Browser and paste-back need the app registration to list the redirect URI
http://localhost under "Mobile and desktop applications"; all three need
"Allow public client flows" (docs/tenant-setup.md).

Everything login prints goes to standard error; standard input is read
only with --no-browser. Profiles with flow = "client_credentials" need no
login.`

// Logout is the long help of `m365send logout`.
const Logout = `Logout removes every cached token of the profile (access and refresh
tokens, and the signed-in account). A device-code profile then needs
"m365send login" again; a client-credentials profile simply fetches a new
token next time. Sign-ins are not revoked at Entra ID; an administrator
does that with "Revoke sessions" on the user.`

// Queue is the long help of `m365send queue`.
const Queue = `The queue holds the messages the relay accepted, and those send and
sendmail handed over after a temporary failure, until they are delivered.

It is $M365SEND_QUEUE, else the top-level "queue" setting of the
configuration file: a folder, or a PostgreSQL database (postgres://...)
that several relays share; else the folder "spool" in the state folder:
$M365SEND_STATE_DIR, else $XDG_STATE_HOME/m365send, else
~/.local/state/m365send. Every subcommand is safe while relays run on the
same queue.`

// QueueFlush is the long help of `m365send queue flush`.
const QueueFlush = `Flush delivers every message that is due now through its profile's
mailbox (within Exchange Online's per-mailbox limits), then exits with the
worst result: 0 when everything was delivered, else the exit status of the
worst failure (75 for a message that waits for another try). A message whose
next try is later stays; make it due with "m365send queue retry ID".`

// QueueMigrate is the long help of `m365send queue migrate`.
const QueueMigrate = `Migrate moves every message and dead letter of the queue's spool folder
into the PostgreSQL queue that --to names, keeping their IDs and states,
and creates its tables if needed. Each message is copied and committed
before it leaves the spool; a move cut short can run again. Stop the relays
on the spool first: a message one is delivering stays in the spool (exit
75; run the move again). Then set queue = "postgres://..." (see
docs/relay.md).`

// Relay is the long help of `m365send relay`.
const Relay = `Relay accepts mail from devices and applications that speak SMTP with a
password (printers, scanners, line-of-business applications) and delivers
it through the profiles' mailboxes, from a durable queue (see docs/relay.md).

--check reads the [relay] table of the configuration file, reports every
mistake (exit status 78 with hints) and exits: a missing certificate, an
unhashed password, no users with a listener that is not on loopback (an
open relay), a profile that does not exist.

Without --check it runs the relay: it checks the table the same way, loads
the certificate (tls_cert_file and tls_key_file, else a self-signed one
generated in the state folder the first time; its SHA-256 fingerprint is
printed at start), listens, and delivers the queue (the top-level "queue"
setting, else "spool" in the state folder) through each profile's mailbox.
It logs one line per event on standard error. SIGTERM or SIGINT stops it:
it stops accepting connections, lets the transactions and deliveries in
progress finish (30 seconds at most) and exits 0; what is not delivered
stays queued. SIGHUP reloads the file's [relay] users and networks (a
configuration that fails the check is refused with a warning and the old
one kept); listeners and the certificate change only with a restart.`

// RelayPasswd is the long help of `m365send relay passwd`.
const RelayPasswd = `Passwd reads a password without echo from the terminal (twice), or one
line from standard input when it is not a terminal, and prints its argon2id
hash for the password_hash of a [[relay.users]] entry.`

// Root is the long help of `m365send`.
const Root = `m365send sends mail through Microsoft 365 (Exchange Online) with modern
authentication: it gets OAuth2 access tokens from Microsoft Entra ID, keeps
them in a private cache, and submits mail to smtp.office365.com:587 with
STARTTLS and SASL XOAUTH2. Tenants that enforce MFA or have turned Basic
auth off keep working, without app passwords.

A profile says who sends and how to get a token. Automation uses an app
registration (flow = "client_credentials": a certificate, a secret or a
federated token); a person signs in once with a device code
(flow = "device_code", then "m365send login") and sends for months.

CONFIGURATION
  Profiles live in $M365SEND_CONFIG, else $XDG_CONFIG_HOME/m365send/config.toml,
  else ~/.config/m365send/config.toml (mode 0600):

    default_profile = "alerts"

    [profiles.alerts]
    flow = "client_credentials"
    tenant = "contoso.onmicrosoft.com"
    client_id = "00000000-0000-0000-0000-000000000000"
    certificate_file = "/etc/m365send/app.pem"  # or client_secret_env/_file/_command
    mailbox = "alerts@contoso.com"

  The environment can supply a whole profile instead (AZURE_TENANT_ID,
  AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH,
  AZURE_FEDERATED_TOKEN_FILE, M365SEND_CLIENT_SECRET_FILE, M365SEND_MAILBOX,
  M365SEND_FROM_NAME, M365SEND_FLOW, M365SEND_CLOUD, M365SEND_SMTP_HOST,
  M365SEND_SMTP_PORT, M365SEND_AUTHORITY_HOST, M365SEND_CA_FILE,
  M365SEND_CACHE_DIR, M365SEND_RATE_PER_MINUTE), so a container needs no
  file. Precedence: environment > file > default; --config and --profile
  choose the file and the profile. An unknown M365SEND_* variable is an
  error (a warning for sendmail), so a typo is not silently ignored.

  "m365send init" writes a first file (it asks at a terminal, or takes
  flags). Relative paths in the file are relative to its folder.

  Try it with no tenant at all: "m365send sandbox --demo".

EXIT STATUS
  0 sent; 64 usage; 65 bad message or address; 69 service unavailable or
  permanent SMTP failure; 70 internal error; 75 temporary failure (retry
  later); 77 permission denied by Microsoft (or sign-in required);
  78 configuration error.`

// RootExample holds the examples of `m365send`.
const RootExample = `  m365send send --to ops@contoso.com --subject "disk full" < report.txt
  m365send login --profile me && m365send send --profile me --to bob@contoso.com -s hi
  m365send doctor --profile alerts
  msmtp: passwordeval "m365send token --profile alerts"`

// Sandbox is the long help of `m365send sandbox`.
const Sandbox = `Sandbox starts a fake Microsoft Entra ID and a fake Office 365 submission
server on 127.0.0.1, with a throwaway certificate authority, and writes a
config file with two profiles that trust that CA through ca_file:

  sandbox       app-only (client credentials with a secret in a 0600 file)
  sandbox-user  delegated (a person; the sandbox approves every sign-in)

m365send then sends through them on the real code path: MSAL over HTTPS to
the fake Entra ID, go-mail over STARTTLS and AUTH XOAUTH2 to the fake server.
Nothing leaves the machine: the fake server records messages and relays none.

Without --demo it prints how to send through it, prints every message the
fake server receives, and runs until interrupted (Ctrl-C). With --demo it
does one full round — a client-credentials send, a browser sign-in
(authorization code with PKCE; the demo plays the browser), a delegated
send, a Microsoft Graph send, and a device's message through a relay on
127.0.0.1 (STARTTLS, AUTH PLAIN) — prints what the server received, and
exits.

The files go to --dir (kept), or to a temporary folder removed on exit.
--dir must be a new or empty folder, or one an earlier sandbox used: a
folder holding anything else is refused, and an existing folder keeps its
mode.
AZURE_* and M365SEND_* variables are ignored by the demo, so a shell set up
for a real tenant cannot redirect it; the global --config flag is ignored.`

// SandboxExample holds the examples of `m365send sandbox`.
const SandboxExample = `  m365send sandbox --demo
  m365send sandbox --dir /tmp/sb   # then, in another shell:
  m365send --config /tmp/sb/config.toml send --profile sandbox --to someone@example.com --subject hi --body hello`

// Secret is the long help of `m365send secret`.
const Secret = `Secret keeps a profile's client secret in the OS keyring (the Secret
Service on Linux, the Keychain on macOS, the Credential Manager on
Windows), for a profile with client_secret_keyring = true.

  m365send secret set PROFILE      read the secret and store it
  m365send secret delete PROFILE   remove it

set reads the secret without echo from the terminal, or one line from
standard input when it is not a terminal. Without an OS keyring (a
headless server with no Secret Service) it fails and says so: keep the
secret in a file (client_secret_file, mode 0600) there instead.`

// Send is the long help of `m365send send`.
const Send = `Send composes one message and submits it through the profile's mailbox.

The body is the --body text, or standard input when --body is "-" or is
absent (so "cmd | m365send send ..." works); a body read from standard
input is held in memory and refused past 10 MB (send a larger text with
--raw or --attach). At a terminal with no --body, send says so on standard
error and reads what is typed until Ctrl-D on a line of its own, as mail(1)
does (Ctrl-C sends nothing); --body '' sends an empty body on purpose. --html adds an HTML alternative read from a file; --attach adds
files, streamed, with the MIME type taken from their content.

--raw sends a complete RFC 5322 message (a file, or "-" for standard input;
at most 150 MB, streamed through private temporary files, so memory stays
flat) as it is, after removing Bcc headers and adding Date, Message-ID and From if
missing. Its envelope recipients are the --to/--cc/--bcc flags and bare
arguments or, when there are none, the message's To, Cc and Bcc headers;
its envelope sender is --from or the profile's mailbox, as with sendmail's
-f, never the message's own From header.

Many messages from one command go over one connection (one TLS handshake,
one AUTH) and print one result line each on standard output, in order:
  sent LABEL <message-id> to RCPT, ...
  failed LABEL (exit N): ERROR; hint: HINT
(with --json, one object a line, with "line" or "file"); the exit status
is the worst of theirs (75 < 65 < 69 < 77 < 78 < 70). --raw may be given
several times (a file each, "-" at most once; LABEL is the file).
--batch FILE (or "-") reads JSON Lines, one message a line (LABEL is
"line N"):
  {"to": "ops@contoso.com", "subject": "disk", "body": "93% full\n"}
  {"to": ["a@contoso.com", "b@contoso.com"], "cc": "c@contoso.com",
   "subject": "report", "body": "attached", "attachments": ["r.pdf"]}
with the fields from, to, cc, bcc (an address, a comma-separated list or
an array), subject, body, html (a file), attachments, headers
("Name: value" strings) and reply_to; paths are relative to the working
directory. A line that does not parse stops the batch before anything is
sent; a message that cannot be built (a bad address, a missing file)
fails alone. Several messages are sent, never queued: a queue in the
configuration file does not apply (one that fails for now is reported,
exit 75, for the caller to send again); --queue and --dry-run are refused,
and so is the whole command when queue_always = true.

--dry-run prints the message exactly as it would be sent and sends nothing;
it needs no token. --json prints one JSON object on standard output:
  {"status":"sent","message_id":"<...>","from":"...","recipients":["..."]}
  {"status":"failed","error":"...","code":550,"enhanced_code":"5.1.10",
   "hint":"...","exit_code":65}
When the message was sent but its result cannot be written (standard
output closed or full), send says so on standard error ("m365send:
warning: the message was sent ...") and still exits 0: the exit status
says whether the message went, so that a caller never sends it twice.
When the configuration file names a queue (top-level queue = "FOLDER"),
or with --queue, a message that fails for now (exit status 75 otherwise) is
handed to the queue instead: send prints "m365send: warning: queued ID ..."
and exits 0 (--json: "status":"queued" with "queue_id"); "m365send queue
flush" or a relay delivers it later. With queue_always = true every message
goes to the queue without a try. sendmail does the same.
-v traces the SMTP exchange on standard error, with the token redacted.

Nothing is printed on success without --json or -v; the exit status says
what happened (see "m365send --help").`

// SendExample holds the examples of `m365send send`.
const SendExample = `  echo "backup done" | m365send send --to ops@contoso.com --subject "backup"
  m365send send -s "report" --html report.html --attach report.pdf alice@contoso.com
  m365send send --raw message.eml
  m365send send --dry-run --to bob@contoso.com -s test --body hello`

// Sendmail is the long help of `m365send sendmail`.
const Sendmail = `Read a message on standard input and send it, as sendmail(8) does, so
cron, mail(1), PHP's mail() and other programs can send through Microsoft 365.
The binary behaves the same when invoked through a symlink named "sendmail".

Options (sendmail's syntax; clusters such as -ti work):
  -t          take recipients from the To, Cc and Bcc headers (plus any
              given as arguments); Bcc is removed from the message sent
  -i, -oi     a line holding only "." does not end the message
  -f ADDR     envelope sender (also -r ADDR); default: the profile's mailbox
  -F NAME     display name of the From header added when there is none
  -C FILE     m365send configuration file
  -v          print the SMTP exchange on standard error (tokens redacted)
  --          end of options
Accepted and ignored: -oXXX other than -oi (-oem, -odb, ...), -O NAME=VALUE
other than IgnoreDots, -B TYPE, -N DSN, -R RET, -V ENVID, -h N, -L TAG,
-A X, -D FILE, -d X, -e X, -M XV, -p PROTO, -X FILE, -bm, and the obsolete
-c -m -n -s -G -U -T.
The profile is $M365SEND_PROFILE or the config's default_profile.`

// Status is the long help of `m365send status`.
const Status = `Status lists every profile of the configuration file (or only --profile):
its flow, account, where its credential and its tokens are kept, when the
cached access token expires, when the refresh token was last used (Entra ID
ends a sign-in whose refresh token goes unused for 90 days), when the
person signed in, when a send last succeeded, and when a certificate
expires. It warns before trouble: a refresh token unused for 60 days, a
certificate that expires within 30 days, and a sign-in required now.
Status asks Entra ID nothing and sends nothing.

Its exit status is the worst profile's, for monitoring:
  0  every profile is fine
  1  a cached access token has expired (nothing to do: the next use
     gets a new one)
  2  act soon: a refresh token is near its 90 days without use, or a
     certificate near its expiry
  3  act now: a person must sign in (never signed in, revoked, ended),
     or a profile cannot get tokens (it does not load, its certificate
     has expired)
--json prints the same as one JSON object.`

// Token is the long help of `m365send token`.
const Token = `Token prints a valid access token for the profile's Exchange Online
resource, and a newline, on standard output and nothing else, for programs
that do the SMTP or IMAP exchange themselves. The token comes from the
cache while at least 10 minutes of it remain, else from Entra ID.

The token is a credential: do not log it.`

// TokenExample holds the examples of `m365send token`.
const TokenExample = `  # ~/.msmtprc
  account m365
  host smtp.office365.com
  port 587
  tls on
  auth xoauth2
  user alerts@contoso.com
  from alerts@contoso.com
  passwordeval "m365send token --profile alerts"

  curl --oauth2-bearer "$(m365send token)" ...`
