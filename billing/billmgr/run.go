package billmgr

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit codes returned by [Run].
const (
	// ExitOK: the command succeeded.
	ExitOK = 0
	// ExitFailure: the handler failed; an error document was printed.
	ExitFailure = 1
	// ExitUsage: the command line was invalid; an error document was
	// printed.
	ExitUsage = 2
)

// Request is one invocation of the module.
type Request struct {
	// Args is the parsed command line.
	Args Args
	// Stdin is the input document for the commands that get one
	// (check_connection, tune_connection, get_suitable_module, check_param,
	// check_addon, …). It is read lazily: Run never reads it itself.
	Stdin io.Reader
}

// Handler implements a processing module: one method per command. Methods
// that only act (open, suspend, …) return nil on success; the module itself
// must report completion to BILLmanager through the mgrctl callbacks (for
// example service.postopen), otherwise the running operation stays open.
// Embed [UnimplementedHandler] to implement only some commands.
type Handler interface {
	// Features describes the module (features command).
	Features(ctx context.Context) (*Features, error)
	// CheckConnection validates the connection parameters read from
	// req.Stdin (see ParseConnectionParams).
	CheckConnection(ctx context.Context, req *Request) error
	// TuneConnection returns the connection form document to print (the
	// input, optionally with <slist> elements added).
	TuneConnection(ctx context.Context, req *Request) ([]byte, error)
	// Open creates the service req.Args.Item.
	Open(ctx context.Context, req *Request) error
	// Suspend suspends the service.
	Suspend(ctx context.Context, req *Request) error
	// Resume resumes the service.
	Resume(ctx context.Context, req *Request) error
	// Close deletes the service.
	Close(ctx context.Context, req *Request) error
	// SetParam applies a tariff or addon change.
	SetParam(ctx context.Context, req *Request) error
	// Prolong renews the service.
	Prolong(ctx context.Context, req *Request) error
	// ProlongAddon renews addon req.Args.Addon.
	ProlongAddon(ctx context.Context, req *Request) error
	// CancelProlong cancels a renewal.
	CancelProlong(ctx context.Context, req *Request) error
	// Reopen restores a deleted service.
	Reopen(ctx context.Context, req *Request) error
	// SyncItem reads the real state of the service.
	SyncItem(ctx context.Context, req *Request) error
	// GetServerConfig reads the panel configuration of module
	// req.Args.Module (OS list, presets, …).
	GetServerConfig(ctx context.Context, req *Request) error
	// SyncServer synchronises servers.
	SyncServer(ctx context.Context, req *Request) error
	// SyncIPList synchronises IP addresses.
	SyncIPList(ctx context.Context, req *Request) error
	// SyncPricelist synchronises tariffs.
	SyncPricelist(ctx context.Context, req *Request) error
	// Stat collects usage statistics.
	Stat(ctx context.Context, req *Request) error
	// GetSuitableModule returns the IDs of the modules able to serve the
	// item described on req.Stdin (see ParseSuitableModuleQuery).
	GetSuitableModule(ctx context.Context, req *Request) ([]int64, error)
	// CheckParam validates req.Args.Param = req.Args.Value.
	CheckParam(ctx context.Context, req *Request) error
	// CheckAddon validates an addon value.
	CheckAddon(ctx context.Context, req *Request) error
	// TransitionControlPanel returns the panel login link.
	TransitionControlPanel(ctx context.Context, req *Request) (*PanelLink, error)
	// Other handles every other command; its output is printed as is.
	Other(ctx context.Context, req *Request) ([]byte, error)
}

// UnimplementedHandler implements every [Handler] method by returning an
// *Error of type "unsupported" wrapping [ErrUnsupported]. Embed it and
// override the commands the module supports.
type UnimplementedHandler struct{}

func unsupported(c Command) error {
	return &Error{Type: ErrTypeUnsupported, Object: "command", Value: string(c), Desc: "command not supported by this module", Err: ErrUnsupported}
}

// Features implements Handler.
func (UnimplementedHandler) Features(context.Context) (*Features, error) {
	return nil, unsupported(CmdFeatures)
}

// CheckConnection implements Handler.
func (UnimplementedHandler) CheckConnection(context.Context, *Request) error {
	return unsupported(CmdCheckConnection)
}

// TuneConnection implements Handler.
func (UnimplementedHandler) TuneConnection(context.Context, *Request) ([]byte, error) {
	return nil, unsupported(CmdTuneConnection)
}

// Open implements Handler.
func (UnimplementedHandler) Open(context.Context, *Request) error { return unsupported(CmdOpen) }

// Suspend implements Handler.
func (UnimplementedHandler) Suspend(context.Context, *Request) error { return unsupported(CmdSuspend) }

// Resume implements Handler.
func (UnimplementedHandler) Resume(context.Context, *Request) error { return unsupported(CmdResume) }

// Close implements Handler.
func (UnimplementedHandler) Close(context.Context, *Request) error { return unsupported(CmdClose) }

// SetParam implements Handler.
func (UnimplementedHandler) SetParam(context.Context, *Request) error {
	return unsupported(CmdSetParam)
}

// Prolong implements Handler.
func (UnimplementedHandler) Prolong(context.Context, *Request) error { return unsupported(CmdProlong) }

// ProlongAddon implements Handler.
func (UnimplementedHandler) ProlongAddon(context.Context, *Request) error {
	return unsupported(CmdProlongAddon)
}

// CancelProlong implements Handler.
func (UnimplementedHandler) CancelProlong(context.Context, *Request) error {
	return unsupported(CmdCancelProlong)
}

// Reopen implements Handler.
func (UnimplementedHandler) Reopen(context.Context, *Request) error { return unsupported(CmdReopen) }

// SyncItem implements Handler.
func (UnimplementedHandler) SyncItem(context.Context, *Request) error {
	return unsupported(CmdSyncItem)
}

// GetServerConfig implements Handler.
func (UnimplementedHandler) GetServerConfig(context.Context, *Request) error {
	return unsupported(CmdGetServerConfig)
}

// SyncServer implements Handler.
func (UnimplementedHandler) SyncServer(context.Context, *Request) error {
	return unsupported(CmdSyncServer)
}

// SyncIPList implements Handler.
func (UnimplementedHandler) SyncIPList(context.Context, *Request) error {
	return unsupported(CmdSyncIPList)
}

// SyncPricelist implements Handler.
func (UnimplementedHandler) SyncPricelist(context.Context, *Request) error {
	return unsupported(CmdSyncPricelist)
}

// Stat implements Handler.
func (UnimplementedHandler) Stat(context.Context, *Request) error { return unsupported(CmdStat) }

// GetSuitableModule implements Handler.
func (UnimplementedHandler) GetSuitableModule(context.Context, *Request) ([]int64, error) {
	return nil, unsupported(CmdGetSuitableModule)
}

// CheckParam implements Handler.
func (UnimplementedHandler) CheckParam(context.Context, *Request) error {
	return unsupported(CmdCheckParam)
}

// CheckAddon implements Handler.
func (UnimplementedHandler) CheckAddon(context.Context, *Request) error {
	return unsupported(CmdCheckAddon)
}

// TransitionControlPanel implements Handler.
func (UnimplementedHandler) TransitionControlPanel(context.Context, *Request) (*PanelLink, error) {
	return nil, unsupported(CmdTransitionControlPanel)
}

// Other implements Handler.
func (UnimplementedHandler) Other(_ context.Context, req *Request) ([]byte, error) {
	return nil, unsupported(req.Args.Command)
}

// Run runs one module invocation with os.Stdin as input; see [RunIO].
//
// A module's main is typically:
//
//	func main() { os.Exit(billmgr.Run(context.Background(), os.Args[1:], os.Stdout, myHandler{})) }
func Run(ctx context.Context, args []string, stdout io.Writer, h Handler) int {
	return RunIO(ctx, args, os.Stdin, stdout, h)
}

// RunIO parses args, calls the handler method for the command and writes the
// result to stdout. It returns the process exit code:
//
//   - success: ExitOK. features prints the Features document; check_connection,
//     check_param and check_addon print <doc><ok/></doc>; tune_connection
//     and Other print what the handler returned; get_suitable_module prints
//     <doc><modules><module id="N"/>…</modules></doc>;
//     transition_control_panel prints
//     <doc><url>…</url><panelcount>1</panelcount><panelname keyname="…">…</panelname></doc>;
//     the action commands (open, suspend, …) print nothing.
//   - bad command line: the *UsageError as an error document of type "usage",
//     ExitUsage.
//   - handler error: the error document of [MarshalErrorXML], ExitFailure.
//
// XML documents are preceded by an XML declaration. stdin is handed to the
// handler unread.
//
// A person asking for help (-h, -help or --help anywhere before "--", see
// [IsHelp]) gets plain text instead: the handler's Usage when it implements
// [Usager], else [DefaultUsage], and ExitOK. BILLmanager itself never
// passes these options.
func RunIO(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, h Handler) int {
	if IsHelp(args) {
		usage := DefaultUsage
		if u, ok := h.(Usager); ok {
			usage = u.Usage()
		}
		if _, err := io.WriteString(stdout, usage); err != nil {
			return ExitFailure
		}
		return ExitOK
	}
	a, err := ParseArgs(args)
	if err != nil {
		writeError(stdout, err)
		return ExitUsage
	}
	out, err := dispatch(ctx, h, &Request{Args: a, Stdin: stdin})
	if err != nil {
		writeError(stdout, err)
		return ExitFailure
	}
	if len(out) > 0 {
		if _, err := stdout.Write(out); err != nil {
			return ExitFailure
		}
	}
	return ExitOK
}

func writeError(w io.Writer, err error) {
	doc, merr := MarshalErrorXML(err)
	if merr != nil {
		doc = []byte(`<doc><error type="internal"/></doc>`)
	}
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(doc)
}

func withHeader(doc []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("billmgr: rendering output: %w", err)
	}
	return append([]byte(xml.Header), doc...), nil
}

func act(err error) ([]byte, error) { return nil, err }

func ok(err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return withHeader([]byte(okDoc), nil)
}

func dispatch(ctx context.Context, h Handler, req *Request) ([]byte, error) {
	switch req.Args.Command {
	case CmdFeatures:
		f, err := h.Features(ctx)
		if err != nil {
			return nil, err
		}
		if f == nil {
			return nil, errors.New("billmgr: handler returned no features")
		}
		return withHeader(xml.Marshal(f))
	case CmdCheckConnection:
		return ok(h.CheckConnection(ctx, req))
	case CmdTuneConnection:
		return h.TuneConnection(ctx, req)
	case CmdOpen:
		return act(h.Open(ctx, req))
	case CmdSuspend:
		return act(h.Suspend(ctx, req))
	case CmdResume:
		return act(h.Resume(ctx, req))
	case CmdClose:
		return act(h.Close(ctx, req))
	case CmdSetParam:
		return act(h.SetParam(ctx, req))
	case CmdProlong:
		return act(h.Prolong(ctx, req))
	case CmdProlongAddon:
		return act(h.ProlongAddon(ctx, req))
	case CmdCancelProlong:
		return act(h.CancelProlong(ctx, req))
	case CmdReopen:
		return act(h.Reopen(ctx, req))
	case CmdSyncItem:
		return act(h.SyncItem(ctx, req))
	case CmdGetServerConfig:
		return act(h.GetServerConfig(ctx, req))
	case CmdSyncServer:
		return act(h.SyncServer(ctx, req))
	case CmdSyncIPList:
		return act(h.SyncIPList(ctx, req))
	case CmdSyncPricelist:
		return act(h.SyncPricelist(ctx, req))
	case CmdStat:
		return act(h.Stat(ctx, req))
	case CmdGetSuitableModule:
		ids, err := h.GetSuitableModule(ctx, req)
		if err != nil {
			return nil, err
		}
		return withHeader(marshalModules(ids))
	case CmdCheckParam:
		return ok(h.CheckParam(ctx, req))
	case CmdCheckAddon:
		return ok(h.CheckAddon(ctx, req))
	case CmdTransitionControlPanel:
		p, err := h.TransitionControlPanel(ctx, req)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, errors.New("billmgr: handler returned no panel link")
		}
		return withHeader(marshalPanelLink(p))
	default:
		return h.Other(ctx, req)
	}
}

// Usager is implemented by handlers that describe themselves for -h: the
// text printed as is (end it with a newline). Start it with one line saying
// what the module does.
type Usager interface {
	Usage() string
}

// DefaultUsage is printed for -h by handlers that do not implement
// [Usager].
const DefaultUsage = `A BILLmanager processing module (run by BILLmanager from /usr/local/mgr5/processing).

Usage: <module> --command <command> [--item <id>] [--module <id>] [--runningoperation <id>] [options]

  --command, -c         command: features, check_connection, open, suspend, resume, close, sync_item, …
  --item, -i            service (item) id; required by open, suspend, resume, close, sync_item, …
  --module, -m          processing module id; required by get_server_config, sync_* and import
  --runningoperation    the running operation the call belongs to
  --lang, -l            language of messages
  --subcommand, --id, --itemtype/-t, --intname, --param, --value, --level, --addon/-a
                        passed by BILLmanager for the commands that use them

Unknown options are ignored. On success action commands print nothing; on
failure the module prints an XML error document and exits non-zero.
`

// IsHelp reports whether args ask for help: -h, -help or --help before a
// "--".
func IsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
