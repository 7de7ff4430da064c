// Command billmgr-module is a BILLmanager processing module written in Go:
// it sells DCImanager 5 dedicated servers through the ispkit provisioning
// engine (provision.Engine), with its state in a durable SQLite store.
//
// # Installing it in BILLmanager
//
// A processing module is two files; the module name is the file name and
// the XML file name must match it exactly:
//
//	/usr/local/mgr5/processing/pmispkit              this program, executable, run as root
//	/usr/local/mgr5/etc/xml/billmgr_mod_pmispkit.xml the plugin description (billmgr_mod_pmispkit.xml here)
//
// Build, install and restart the panel core so that it reads the plugin:
//
//	go build -o /usr/local/mgr5/processing/pmispkit ./examples/billmgr-module
//	cp examples/billmgr-module/billmgr_mod_pmispkit.xml /usr/local/mgr5/etc/xml/
//	killall core
//
// Nothing else is needed: the module finds the installation from its own
// path (<root>/processing/pmispkit), talks back through <root>/sbin/mgrctl,
// and keeps its files in <root>/var: pmispkit.db (the engine's store) and
// pmispkit.log. Then add a processing module "Dedicated server → pmispkit"
// (URL of DCImanager, administrator, password; optionally a poll interval),
// connect it to a tariff and fill the tariff's pmispkit fields (server
// configuration, OS templates, default OS, recipe, don't wait for the
// install).
//
// # What it does
//
// BILLmanager runs it as "pmispkit --command <cmd> --item <id>
// --runningoperation <id>" from /usr/local/mgr5. features prints the
// features document. open, suspend, resume and close read the item
// (dedic.edit), its tariff (pricelist.edit) and the module's connection
// (processing.edit) through mgrctl, run the engine's Open, Suspend,
// Unsuspend or Close synchronously, save what the service got
// (service.saveparam) and report with service.postopen / postsuspend /
// postresume / postclose, which closes the running operation. sync_item
// reports the engine's status (service.setstatus) and parameters;
// transition_control_panel prints a one-time DCImanager login link. On
// failure the module stores the error on the running operation
// (runningoperation.edit errorxml=…), prints the error document and exits
// non-zero; BILLmanager re-runs the operation, and the re-run continues the
// same engine operation.
//
// # Trying it without a BILLmanager
//
//	go run ./examples/billmgr-module -h
//	go run ./examples/billmgr-module --command features
//	go run ./examples/billmgr-module -demo
//
// -demo starts the DCImanager 5 fake in-process and plays a scripted
// sequence of invocations, printing the mgrctl callbacks instead of running
// them.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/ispkit/ispkit/billing/billmgr"
)

// moduleName is the installed file name, /usr/local/mgr5/processing/pmispkit.
const moduleName = "pmispkit"

// usage is what -h prints.
const usage = `pmispkit is a BILLmanager processing module that sells DCImanager 5 dedicated servers through the ispkit engine.

Usage:
  pmispkit --command <command> [--item <id>] [--module <id>] [--runningoperation <id>]
  pmispkit -demo [-db <file>]
  pmispkit -h

BILLmanager runs it from /usr/local/mgr5/processing/pmispkit with:
  --command, -c         features, check_connection, open, suspend, resume, close,
                        sync_item or transition_control_panel
  --item, -i            the service (item) id
  --module, -m          the processing module id
  --runningoperation    the running operation the call belongs to
  (other options are ignored)

It reads the module's connection (url, username, password, poll_interval), the
item and its tariff through <root>/sbin/mgrctl, reports back with mgrctl
callbacks, and keeps <root>/var/pmispkit.db and <root>/var/pmispkit.log, where
<root> is the directory above processing/ (/usr/local/mgr5).

Flags for trying it:
  -demo                 play a scripted BILLmanager session against an in-process
                        DCImanager 5 fake, printing the callbacks
  -db <file>            with -demo: keep the engine's SQLite store in <file>
  -h, --help            print this help
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	if billmgr.IsHelp(args) {
		fmt.Print(usage)
		return
	}
	if slices.Contains(args, "-demo") || slices.Contains(args, "--demo") {
		if err := demoMain(ctx, args, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, moduleName+": demo:", err)
			os.Exit(1)
		}
		return
	}
	root := billmgr.Root()
	logw := openLog(root)
	mgr := &billmgr.Mgrctl{Root: root, Module: moduleName,
		Log: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	env := &Env{
		Params:  &MgrctlParams{Forms: mgr},
		Billing: mgr,
		Log:     logw,
		DB:      filepath.Join(root, "var", moduleName+".db"),
	}
	code := run(ctx, env, args, os.Stdin, os.Stdout)
	stop()
	os.Exit(code)
}

// openLog opens <root>/var/pmispkit.log for appending, or stderr when it
// cannot be opened (BILLmanager reads only stdout).
func openLog(root string) io.Writer {
	f, err := os.OpenFile(filepath.Join(root, "var", moduleName+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return os.Stderr
	}
	return f
}

// run is one module invocation, exactly as BILLmanager makes it: args is
// the command line without the program name. It returns the exit code.
func run(ctx context.Context, env *Env, args []string, stdin io.Reader, stdout io.Writer) int {
	if env.Log != nil {
		if a, err := billmgr.ParseArgs(args); err == nil {
			fmt.Fprintf(env.Log, "%s %s\n", moduleName, a) // secrets redacted
		}
	}
	return billmgr.RunIO(ctx, args, stdin, stdout, &module{env: env})
}
