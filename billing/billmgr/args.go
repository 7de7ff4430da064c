package billmgr

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Command is a processing-module command, passed as --command. Feature
// names in the features document are command names.
type Command string

// Commands with a dedicated [Handler] method.
const (
	CmdFeatures               Command = "features"
	CmdCheckConnection        Command = "check_connection"
	CmdTuneConnection         Command = "tune_connection"
	CmdOpen                   Command = "open"
	CmdSuspend                Command = "suspend"
	CmdResume                 Command = "resume"
	CmdClose                  Command = "close"
	CmdSetParam               Command = "setparam"
	CmdProlong                Command = "prolong"
	CmdProlongAddon           Command = "prolong_addon"
	CmdCancelProlong          Command = "cancel_prolong"
	CmdReopen                 Command = "reopen"
	CmdSyncItem               Command = "sync_item"
	CmdGetServerConfig        Command = "get_server_config"
	CmdSyncServer             Command = "sync_server"
	CmdSyncIPList             Command = "sync_iplist"
	CmdSyncPricelist          Command = "sync_pricelist"
	CmdStat                   Command = "stat"
	CmdGetSuitableModule      Command = "get_suitable_module"
	CmdCheckParam             Command = "check_param"
	CmdCheckAddon             Command = "check_addon"
	CmdTransitionControlPanel Command = "transition_control_panel"
)

// Commands the protocol defines that [Run] passes to [Handler.Other]
// (domain, certificate and framework extras).
const (
	CmdUserCreate      Command = "usercreate"
	CmdTuningParam     Command = "tuning_param"
	CmdImport          Command = "import"
	CmdImportPricelist Command = "import_pricelist"
	CmdGenKey          Command = "gen_key"
	CmdChangePassword  Command = "changepassword"
	CmdReboot          Command = "reboot"
	CmdIPAdd           Command = "ip_add"
	CmdIPDel           Command = "ip_del"
	CmdTransfer        Command = "transfer"
	CmdUpdateNS        Command = "update_ns"
	CmdWhois           Command = "whois"
	CmdApprover        Command = "approver"
)

// requiresItem lists the commands that cannot run without --item: those the
// reference lists as requiring it, plus every command whose documented
// arguments include --item.
var requiresItem = map[Command]bool{
	CmdOpen: true, CmdResume: true, CmdSuspend: true, CmdClose: true, CmdSetParam: true,
	CmdProlong: true, CmdTransfer: true, CmdUpdateNS: true, CmdCheckParam: true, CmdGenKey: true,
	CmdProlongAddon: true, CmdCancelProlong: true, CmdReopen: true, CmdSyncItem: true,
	CmdCheckAddon: true, CmdTransitionControlPanel: true,
}

// requiresModule lists the commands that cannot run without --module.
var requiresModule = map[Command]bool{
	CmdSyncPricelist: true, CmdSyncServer: true, CmdSyncIPList: true, CmdGetServerConfig: true,
	CmdImport: true, CmdApprover: true, CmdImportPricelist: true,
}

// Args is a parsed processing-module command line.
//
// Numeric IDs are 0 when the option was not given. Options this package does
// not know (for example --tld, --searchstring, --domain, --emails,
// --password, --userid, or a control-panel key) are kept in Extra, keyed by
// the option name without dashes.
type Args struct {
	// Command is --command / -c.
	Command Command
	// Subcommand is --subcommand (tuning_param, import_pricelist, …).
	Subcommand string
	// ID is --id (with --subcommand pricelist).
	ID string
	// Item is --item / -i: the service (item) ID.
	Item int64
	// Lang is --lang / -l.
	Lang string
	// Module is --module / -m: the processing module ID.
	Module int64
	// ItemType is --itemtype / -t.
	ItemType string
	// IntName is --intname.
	IntName string
	// Param is --param.
	Param string
	// Value is --value.
	Value string
	// RunningOperation is --runningoperation: the running operation the
	// call belongs to.
	RunningOperation int64
	// Level is --level: the caller's access level.
	Level int
	// Addon is --addon / -a.
	Addon int64
	// Extra holds every unknown option ("" for an option without value).
	Extra map[string]string
	// Positional holds arguments that are not options.
	Positional []string
}

// String implements fmt.Stringer; the values of Extra keys containing
// "pass" are redacted.
func (a Args) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--command %s", a.Command)
	add := func(name string, v any, set bool) {
		if set {
			fmt.Fprintf(&b, " --%s %v", name, v)
		}
	}
	add("subcommand", a.Subcommand, a.Subcommand != "")
	add("id", a.ID, a.ID != "")
	add("item", a.Item, a.Item != 0)
	add("lang", a.Lang, a.Lang != "")
	add("module", a.Module, a.Module != 0)
	add("itemtype", a.ItemType, a.ItemType != "")
	add("intname", a.IntName, a.IntName != "")
	add("param", a.Param, a.Param != "")
	add("value", a.Value, a.Value != "")
	add("runningoperation", a.RunningOperation, a.RunningOperation != 0)
	add("level", a.Level, a.Level != 0)
	add("addon", a.Addon, a.Addon != 0)
	for _, k := range slices.Sorted(maps.Keys(a.Extra)) {
		add(k, redactExtra(k, a.Extra[k]), true)
	}
	return b.String()
}

// GoString implements fmt.GoStringer with the same redaction as String.
func (a Args) GoString() string { return "billmgr.Args{" + a.String() + "}" }

// LogValue implements slog.LogValuer with the same redaction as String.
func (a Args) LogValue() slog.Value { return slog.StringValue(a.String()) }

func redactExtra(key, v string) string {
	if v != "" && strings.Contains(strings.ToLower(key), "pass") {
		return "[REDACTED]"
	}
	return v
}

// UsageError reports a bad command line. [Run] prints it as an error
// document of type "usage" and exits with code 2.
type UsageError struct {
	// Option is the offending option ("--item"), or "" for the command line
	// as a whole.
	Option string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *UsageError) Error() string {
	if e.Option == "" {
		return "billmgr: " + e.Reason
	}
	return "billmgr: " + e.Option + ": " + e.Reason
}

// shortNames maps the short options to their long names.
var shortNames = map[string]string{"c": "command", "i": "item", "l": "lang", "m": "module", "t": "itemtype", "a": "addon"}

// known lists the long options Args has a field for.
var known = map[string]bool{
	"command": true, "subcommand": true, "id": true, "item": true, "lang": true, "module": true,
	"itemtype": true, "intname": true, "param": true, "value": true, "runningoperation": true,
	"level": true, "addon": true,
}

// ParseArgs parses a processing-module command line (without the program
// name). Accepted forms are "--name value", "--name=value" and, for the short
// options -c, -i, -l, -m, -t and -a, "-x value". A later occurrence of an
// option overrides an earlier one; "--" ends option parsing.
//
// Unknown options never fail (BILLmanager passes type-specific extras): they
// go to Args.Extra, taking the next argument as their value unless it starts
// with "-" or the option was written "--name=value".
//
// Errors are *UsageError: a missing --command, a known option without a
// value, a non-numeric or negative ID, or a missing --item, --module or
// --addon that the command requires.
func ParseArgs(args []string) (Args, error) {
	var a Args
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.Positional = append(a.Positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.Positional = append(a.Positional, arg)
			continue
		}
		name := strings.TrimLeft(arg, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		if !strings.HasPrefix(arg, "--") {
			if long, ok := shortNames[name]; ok {
				name = long
			}
		}
		if !known[name] {
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
				i++
			}
			if a.Extra == nil {
				a.Extra = make(map[string]string)
			}
			a.Extra[name] = value
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return Args{}, &UsageError{Option: "--" + name, Reason: "missing value"}
			}
			value = args[i+1]
			i++
		}
		if err := a.set(name, value); err != nil {
			return Args{}, err
		}
	}
	if err := a.check(); err != nil {
		return Args{}, err
	}
	return a, nil
}

func (a *Args) set(name, value string) error {
	id := func() (int64, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n < 0 {
			return 0, &UsageError{Option: "--" + name, Reason: fmt.Sprintf("%q is not a non-negative integer", value)}
		}
		return n, nil
	}
	var err error
	switch name {
	case "command":
		a.Command = Command(value)
	case "subcommand":
		a.Subcommand = value
	case "id":
		a.ID = value
	case "item":
		a.Item, err = id()
	case "lang":
		a.Lang = value
	case "module":
		a.Module, err = id()
	case "itemtype":
		a.ItemType = value
	case "intname":
		a.IntName = value
	case "param":
		a.Param = value
	case "value":
		a.Value = value
	case "runningoperation":
		a.RunningOperation, err = id()
	case "level":
		var n int64
		n, err = id()
		a.Level = int(n)
	case "addon":
		a.Addon, err = id()
	}
	return err
}

func (a *Args) check() error {
	if a.Command == "" {
		return &UsageError{Option: "--command", Reason: "required"}
	}
	if requiresItem[a.Command] && a.Item == 0 {
		return &UsageError{Option: "--item", Reason: "required by command " + string(a.Command)}
	}
	if requiresModule[a.Command] && a.Module == 0 {
		return &UsageError{Option: "--module", Reason: "required by command " + string(a.Command)}
	}
	if a.Command == CmdProlongAddon && a.Addon == 0 {
		return &UsageError{Option: "--addon", Reason: "required by command " + string(a.Command)}
	}
	return nil
}
