// Command billmgr-module is a BILLmanager processing module written in Go:
// it bridges BILLmanager's processing-module protocol to the ispkit
// provisioning engine (provision.Engine) selling dedicated servers from a
// DCImanager 5 panel, with its state in a durable SQLite store.
//
// # Installing it in BILLmanager
//
// A processing module is two files (BILLmanager reference, B1):
//
//	/usr/local/mgr5/processing/pmispkit              this program, executable, run as root
//	/usr/local/mgr5/etc/xml/billmgr_mod_pmispkit.xml the plugin description (billmgr_mod_pmispkit.xml here)
//
// The module name is the file name, extension included, and the XML file
// name must match it exactly. Build and install:
//
//	go build -o /usr/local/mgr5/processing/pmispkit ./examples/billmgr-module
//	cp examples/billmgr-module/billmgr_mod_pmispkit.xml /usr/local/mgr5/etc/xml/
//	killall core   # restart the panel core so that it reads the new plugin
//
// BILLmanager then calls "pmispkit --command features" (at start-up and the
// first time it uses the module) and, once a processing module "Dedicated
// server → pmispkit" is connected to a tariff, for example
//
//	pmispkit --command open --item 101 --runningoperation 42
//
// from the working directory /usr/local/mgr5. Unknown options are ignored.
//
// # What it does
//
// features prints the features document (item type dedic; commands
// check_connection, open, suspend, resume, close, sync_item,
// transition_control_panel). open, suspend, resume and close run the
// matching provision.Engine operation (Open, Suspend, Unsuspend, Close) for
// service id = --item, synchronously, then report back through [Billing]:
// service.saveparam for what the service got, then service.postopen /
// postsuspend / postresume / postclose, which closes BILLmanager's running
// operation. On failure the module stores the error on the running
// operation (runningoperation.edit errorxml=…), prints the error document
// and exits non-zero; BILLmanager re-runs the operation later.
//
// Every invocation is a new process, so all engine state lives in the
// SQLite file ($ISPKIT_DB, default var/pmispkit.db relative to
// /usr/local/mgr5). Re-runs are idempotent: the engine operation id is
// derived from --runningoperation (a re-run continues or reports the same
// operation; an operation that failed is retried under a new id), and a
// service already in the target status is only reported again.
//
// # Where inputs come from
//
// In BILLmanager the module's connection parameters are in the
// processingparam tables (or mgrctl processing.edit), the item's in item,
// itemparam and itemcryptedparam, the tariff's in pricelistparam, and
// callbacks go through "mgrctl -m billmgr …". Here both sides are
// interfaces: [Params] reads inputs (the provided [EnvParams] takes them
// from environment variables or extra command-line options, see its
// documentation) and [Billing] sends callbacks (the provided [PrintBilling]
// prints the mgrctl command lines it would run, on stderr: stdout is the
// protocol channel). Plug a database reader and an mgrctl runner there.
//
// # Trying it
//
//	go run ./examples/billmgr-module --command features
//	go run ./examples/billmgr-module -demo
//
// -demo starts the DCImanager 5 fake in-process and runs a scripted
// sequence of invocations (features, check_connection, open item 101 and a
// re-run of it, sync_item, transition_control_panel, suspend, resume,
// close, and an unsupported reboot), each through [run] with the argv
// BILLmanager would pass, printing stdout, the callbacks and the service's
// status after each one. -db keeps the SQLite file (default a temporary
// directory).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/ispkit/ispkit/billing/billmgr"
)

// moduleName is the installed file name, /usr/local/mgr5/processing/pmispkit.
const moduleName = "pmispkit"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	if slices.Contains(args, "-demo") || slices.Contains(args, "--demo") {
		if err := demoMain(ctx, args, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, moduleName+": demo:", err)
			os.Exit(1)
		}
		return
	}
	env := &Env{
		Params:  EnvParams{Lookup: os.LookupEnv},
		Billing: &PrintBilling{W: os.Stderr},
		Log:     os.Stderr,
	}
	code := run(ctx, env, args, os.Stdin, os.Stdout)
	stop()
	os.Exit(code)
}

// run is one module invocation, exactly as BILLmanager makes it: args is
// the command line without the program name. It returns the exit code.
func run(ctx context.Context, env *Env, args []string, stdin io.Reader, stdout io.Writer) int {
	return billmgr.RunIO(ctx, args, stdin, stdout, &module{env: env})
}
