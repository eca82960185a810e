package sendmail

import (
	"fmt"
	"strings"
)

// Options is a parsed sendmail command line.
type Options struct {
	// ExtractRecipients (-t) takes recipients from the To, Cc and Bcc
	// headers, in addition to those named as arguments.
	ExtractRecipients bool
	// Sender (-f ADDR, -r ADDR) is the envelope sender; "" means the
	// profile's mailbox. "<>" and "" given explicitly also mean the mailbox:
	// Microsoft 365 does not submit mail with a null sender.
	Sender string
	// FullName (-F NAME) is the display name of a From header that
	// sendmail adds; "" means the profile's from_name.
	FullName string
	// IgnoreDots (-i, -oi, -O IgnoreDots) makes a line holding only "." an
	// ordinary line instead of the end of the message.
	IgnoreDots bool
	// Verbose (-v) asks for the SMTP exchange on standard error.
	Verbose bool
	// ConfigFile (-C FILE) is the m365send configuration file.
	ConfigFile string
	// Recipients are the arguments after the options, as given; each may
	// hold a comma-separated address list. Parse checks them.
	Recipients []string
	// Ignored lists the options accepted for compatibility that change
	// nothing, as given (e.g. "-oem", "-B8BITMIME").
	Ignored []string
	// NoRecipientsHint is the hint of the *MessageError Parse returns when
	// the message has no recipient, for callers whose command line is not
	// sendmail's; "" means sendmail's own (arguments, or -t with To/Cc/Bcc
	// headers). ParseArgs never sets it.
	NoRecipientsHint string
	// LocalNames accepts recipients that are bare local names (root,
	// www-data) into Message.Recipients as they are, for ExpandAliases to
	// map; without it they are refused as malformed. ParseArgs never sets
	// it.
	LocalNames bool
}

// Option letters, after sendmail 8's getopt string
// "A:B:b:C:cD:d:e:F:f:Gh:IiL:M:mN:nO:o:p:Q:q:R:r:sTtUV:vX:".
// sendmail takes -q (and -Q) with or without an argument (-q, -q1h):
// both are refused as queue operations before any argument is looked for.
const (
	// optsWithArg take an argument, in the same word (-fADDR) or the next
	// (-f ADDR).
	optsWithArg = "ABbCDdeFfhLMNOopRrVX"
	// optsFlag take none.
	optsFlag = "cGIimnsTtUv"
)

// ParseArgs parses sendmail's command line (without the program name).
// Options may be clustered (-ti, -tfADDR) and may follow recipients until
// "--", after which every word is a recipient. Unknown options, a missing
// option argument and modes other than -bm return a *UsageError.
func ParseArgs(args []string) (*Options, error) {
	o := &Options{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			o.Recipients = append(o.Recipients, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			if arg == "-" {
				return nil, &UsageError{Msg: `unexpected argument "-"`, Advice: usageHint}
			}
			o.Recipients = append(o.Recipients, arg)
			continue
		}
		if strings.HasPrefix(arg, "--") {
			return nil, &UsageError{Msg: fmt.Sprintf("unknown option %q", arg), Advice: usageHint}
		}
		// A cluster of one-letter options: -ti, -oi, -fADDR, -tf ADDR.
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			switch {
			case c == 'q':
				return nil, &UsageError{
					Msg:    "-q (process the mail queue) is not supported: m365send sends at once and keeps no queue",
					Advice: "a message that could not be sent is reported to the caller at once (exit 75: retry later)",
				}
			case c == 'Q':
				return nil, unsupportedMode("-Q (quarantine queued mail)")
			case strings.IndexByte(optsFlag, c) >= 0:
				if err := o.flag(c); err != nil {
					return nil, err
				}
			case strings.IndexByte(optsWithArg, c) >= 0:
				val := arg[j+1:]
				word := arg
				if val == "" {
					if i+1 >= len(args) {
						return nil, &UsageError{Msg: fmt.Sprintf("option -%c needs an argument", c), Advice: usageHint}
					}
					i++
					val = args[i]
					word = arg + " " + val
				}
				if err := o.withArg(c, val, word); err != nil {
					return nil, err
				}
				j = len(arg) // the rest of the word was the argument
			default:
				msg := fmt.Sprintf("unknown option -%c", c)
				if len(arg) > 2 {
					msg += fmt.Sprintf(" (in %q)", arg)
				}
				return nil, &UsageError{Msg: msg, Advice: usageHint}
			}
		}
	}
	return o, nil
}

const usageHint = "usage: sendmail [-t] [-i] [-f sender] [-F name] [-C config] [-v] [--] [recipient ...]; the message is read on standard input"

func (o *Options) flag(c byte) error {
	switch c {
	case 't':
		o.ExtractRecipients = true
	case 'i':
		o.IgnoreDots = true
	case 'v':
		o.Verbose = true
	case 'I':
		return unsupportedMode("-I (initialise the alias database)")
	default: // c G m n s T U: obsolete or meaningless without a local MTA
		o.Ignored = append(o.Ignored, "-"+string(c))
	}
	return nil
}

func (o *Options) withArg(c byte, val, word string) error {
	switch c {
	case 'f', 'r':
		if strings.ContainsAny(val, "\r\n") {
			return &UsageError{Msg: fmt.Sprintf("option -%c: the sender address holds a line break", c)}
		}
		v := strings.TrimSpace(val)
		if v == "<>" {
			v = ""
		}
		o.Sender = v
	case 'F':
		if strings.ContainsAny(val, "\r\n") {
			return &UsageError{Msg: "option -F: the full name holds a line break"}
		}
		o.FullName = val
	case 'C':
		o.ConfigFile = val
	case 'b':
		return o.mode(val)
	case 'o':
		// -oX[value]: sendmail's one-letter options. Only i matters here.
		if strings.HasPrefix(val, "i") {
			o.IgnoreDots = boolValue(val[1:])
		} else {
			o.Ignored = append(o.Ignored, word)
		}
	case 'O':
		// -O Name=value: sendmail's long option names.
		name, value, _ := strings.Cut(val, "=")
		if strings.EqualFold(strings.TrimSpace(name), "IgnoreDots") {
			o.IgnoreDots = boolValue(strings.TrimSpace(value))
		} else {
			o.Ignored = append(o.Ignored, word)
		}
	default: // A B D d e h L M N p R V X: accepted and ignored
		o.Ignored = append(o.Ignored, word)
	}
	return nil
}

// boolValue reads sendmail's boolean option values: empty or t/y means
// true, f/n means false.
func boolValue(s string) bool {
	if s == "" {
		return true
	}
	switch s[0] {
	case 'f', 'F', 'n', 'N':
		return false
	}
	return true
}

func (o *Options) mode(val string) error {
	switch val {
	case "m":
		return nil // deliver mail in the usual way: the default
	case "p":
		return &UsageError{
			Msg:    "-bp (print the mail queue) is not supported: m365send sends at once and keeps no queue",
			Advice: "a message that could not be sent is reported to the caller at once (exit 75: retry later)",
		}
	case "s":
		return unsupportedMode("-bs (SMTP on standard input)")
	case "d", "D":
		return unsupportedMode("-b" + val + " (run as a daemon)")
	case "i":
		return unsupportedMode("-bi (initialise the alias database)")
	default:
		return unsupportedMode("-b" + val)
	}
}

func unsupportedMode(what string) error {
	return &UsageError{
		Msg:    what + " is not supported",
		Advice: "m365send only sends a message read on standard input (-bm, the default)",
	}
}

// GlobalFlags takes m365send's global --config and --profile flags (and
// their --flag=value forms), which sendmail's own syntax never uses, out
// of args up to "--", for `m365send [--config F] sendmail ...`: cobra
// hands them over with the sendmail options. rest is what is left for
// ParseArgs; a flag without its value is a usage error.
func GlobalFlags(args []string) (rest []string, configFile, profile string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(arg, "=")
		if name != "--config" && name != "--profile" {
			rest = append(rest, arg)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, "", "", &UsageError{Msg: fmt.Sprintf("flag %s needs an argument", name)}
			}
			i++
			value = args[i]
		}
		if name == "--config" {
			configFile = value
		} else {
			profile = value
		}
	}
	return rest, configFile, profile, nil
}
