package configkey

// EnvPrefix starts every environment variable of the program's own.
const EnvPrefix = "M365SEND_"

// The environment variables m365send reads besides the keys' own.
const (
	// EnvConfig names the configuration file (as --config does).
	EnvConfig = "M365SEND_CONFIG"
	// EnvProfile names the profile (as --profile does).
	EnvProfile = "M365SEND_PROFILE"
	// EnvQueue names the queue (a spool folder or a postgres:// URL) over
	// the file's queue key.
	EnvQueue = "M365SEND_QUEUE"
	// EnvStateDir names the folder where m365send keeps its state (the
	// relay's generated certificate, the queue's spool by default).
	EnvStateDir = "M365SEND_STATE_DIR"
	// EnvSystemConfig names the system-wide configuration file read when
	// the user has none: for tests, and for systems that keep it
	// elsewhere.
	EnvSystemConfig = "M365SEND_SYSTEM_CONFIG"
	// EnvSyslogSocket names the Unix datagram socket sendmail's syslog
	// lines go to instead of the system's logger (tests, containers).
	EnvSyslogSocket = "M365SEND_SYSLOG_SOCKET"
	// EnvPacingWindow names the window of the mailbox's rate (default a
	// minute): tests shorten it so that they need not wait a minute.
	EnvPacingWindow = "M365SEND_PACING_WINDOW"
)

// Variables lists every environment variable m365send reads values from
// that a user sets for it: the M365SEND_* ones (M365SEND_CONFIG and
// M365SEND_PROFILE first) and azidentity's AZURE_* ones, in All's order.
func Variables() []string {
	vars := []string{EnvConfig, EnvProfile}
	for _, k := range All() {
		if k.Env != "" {
			vars = append(vars, k.Env)
		}
	}
	return append(vars, EnvQueue, EnvStateDir, EnvSystemConfig, EnvSyslogSocket, EnvPacingWindow)
}
