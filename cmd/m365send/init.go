package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/doctor"
	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/initconfig"
	"github.com/m365send/m365send/internal/session"
)

// initFlags are the flags of `m365send init`.
type initFlags struct {
	values map[string]*string
	set    []string
	doctor bool
}

// initValueFlags are init's flags for profile keys, by key.
var initValueFlags = []struct{ key, usage string }{
	{"flow", "`FLOW`: client_credentials (an app) or device_code (a person)"},
	{"tenant", "the tenant: its directory ID or a domain such as contoso.onmicrosoft.com"},
	{"client_id", "the app registration's Application (client) `ID`"},
	{"certificate_file", "the app's certificate and key, a PEM or PKCS#12 `FILE` (mode 0600)"},
	{"client_secret_file", "a `FILE` (mode 0600) holding the client secret"},
	{"client_secret_env", "the environment `VARIABLE` holding the client secret"},
	{"federated_token_file", "a federated (workload identity) token `FILE`"},
	{"mailbox", "the `ADDRESS` to send as"},
	{"from_name", "the display `NAME` of the From header"},
}

func (a *app) newInitCmd() *cobra.Command {
	f := &initFlags{values: map[string]*string{}}
	cmd := &cobra.Command{
		Use:     "init [flags]",
		Short:   "Write a first configuration file (asks at a terminal)",
		Long:    helptext.Init,
		Example: helptext.InitExample,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return a.init(cmd, f) },
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	for _, v := range initValueFlags {
		f.values[v.key] = fl.String(strings.ReplaceAll(v.key, "_", "-"), "", v.usage)
	}
	fl.StringArrayVar(&f.set, "set", nil, "set any other profile key, as `KEY=VALUE` (repeatable; see docs/configuration.md)")
	fl.BoolVar(&f.doctor, "doctor", false, "check the profile with `m365send doctor` once written, without asking")
	return cmd
}

// init runs `m365send init`.
func (a *app) init(cmd *cobra.Command, f *initFlags) error {
	given := map[string]string{}
	for _, v := range initValueFlags {
		if cmd.Flags().Changed(strings.ReplaceAll(v.key, "_", "-")) {
			given[v.key] = *f.values[v.key]
		}
	}
	values, err := initconfig.Values(given, f.set)
	if err != nil {
		return err
	}
	opts := initconfig.Options{
		Path:    config.File(a.configFile, a.io.Env),
		Profile: a.profile,
		Values:  values,
		In:      a.io.In,
		Out:     a.io.Err,
		Doctor:  f.doctor,
		Env:     a.io.Env,
	}
	if in, ok := a.io.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		opts.Interactive = true
		opts.ReadSecret = func() ([]byte, error) { return term.ReadPassword(int(in.Fd())) }
	}
	res, err := initconfig.Run(cmd.Context(), opts)
	if err != nil {
		return err
	}
	for _, line := range res.Report(a.configFile, a.profile) {
		fmt.Fprintln(a.io.Err, line)
	}
	if res.Flow == config.FlowDeviceCode || !res.Doctor {
		return nil
	}
	rep := a.reporter()
	rep.doctor = true
	a.exitCode = printDoctor(a.io.Out, rep, doctor.Run(cmd.Context(), a.io.sessionOptions(session.Options{ConfigFile: res.Path, Profile: res.Profile})))
	return nil
}
