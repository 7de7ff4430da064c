// Command ispkit serves fake ISPsystem panels for tests and checks real
// panels, for people and programs that do not write Go.
//
// Install it with
//
//	go install github.com/ispkit/ispkit/cmd/ispkit@latest
//
// # Subcommands
//
//	ispkit sim     serve fake DCImanager 5, DCImanager 6, IPmanager and
//	               ISPmanager panels on loopback ports, over HTTPS with a
//	               generated self-signed certificate (or plain HTTP), seeded
//	               from a JSON file, with a control API to inject faults, set
//	               operation durations and dump or reset the state
//	ispkit check   read-only diagnostics against a real panel: connection,
//	               credentials, free servers, OS templates, IP groups and
//	               networks, ISPmanager presets; as a table or JSON
//
// Run "ispkit <subcommand> -h" for the flags of each.
//
// # Exit codes
//
// Scripts can rely on them:
//
//	0  success (sim: stopped by SIGINT or SIGTERM after a clean shutdown)
//	1  the check or the operation failed (a panel refused the credentials,
//	   an account is not an administrator, a port is taken, ...)
//	2  usage error (unknown subcommand or flag, missing argument)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes (see the package documentation).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `ispkit serves fake ISPsystem panels and checks real ones.

Usage:
  ispkit sim   [flags]                  serve the four fake panels (see ispkit sim -h)
  ispkit check dci5|dci6|ipmgr|ispmgr [flags]
                                        read-only diagnostics against a real panel
  ispkit help                           this text

Exit codes: 0 success, 1 the check or operation failed, 2 usage error.
`

// run is the whole command; main only wires it to the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "sim":
		return runSim(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ispkit: unknown subcommand %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

// parseFlags parses args with fs; -h prints the usage to stdout and
// exits 0, a bad flag exits 2.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK, false
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fs.SetOutput(stderr)
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}
