package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// invocation is one scripted call of the module, as BILLmanager makes it.
type invocation struct {
	argv  []string
	stdin string
}

// outcome is what one invocation did.
type outcome struct {
	argv   []string
	code   int
	stdout string
	// status is the engine's status of item 101 afterwards ("" before it
	// exists).
	status billing.Status
}

// demoItem is the service the demo opens.
const demoItem = 101

func demoMain(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("billmgr-module -demo", flag.ContinueOnError)
	fs.Bool("demo", true, "run the scripted demo against the DCImanager 5 fake")
	db := fs.String("db", "", "SQLite file of the engine's store (default: a temporary file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" {
		dir, err := os.MkdirTemp("", "pmispkit-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*db = filepath.Join(dir, moduleName+".db")
	}
	_, _, err := demo(ctx, w, *db)
	return err
}

// demo starts the DCImanager 5 fake and runs the scripted invocations
// through run, printing each one's output, callbacks and the resulting
// service status to w.
func demo(ctx context.Context, w io.Writer, dbPath string) ([]outcome, *PrintBilling, error) {
	panel := dcimanager5test.NewServer(
		dcimanager5test.WithPowerDuration(20*time.Millisecond),
		dcimanager5test.WithInstallDuration(80*time.Millisecond),
		dcimanager5test.WithConnectionDuration(20*time.Millisecond))
	defer panel.Close()
	// The first E3 server's disk dies during the install: the engine
	// rolls it back and sells the next one, all inside one "open".
	if err := panel.FailNextInstall(1); err != nil {
		return nil, nil, err
	}
	admin, pw := panel.Admin()

	// What BILLmanager would know: the module's connection parameters,
	// the item's parameters and its tariff's (pricelistparam) values.
	vars := map[string]string{
		"ISPKIT_DCI_URL": panel.URL(), "ISPKIT_DCI_USER": admin, "ISPKIT_DCI_PASSWORD": pw, "ISPKIT_POLL_INTERVAL": "10ms",
		"ISPKIT_ITEM_PRICELIST": "7", "ISPKIT_ITEM_ACCOUNT": "3", "ISPKIT_ITEM_OWNER": "john.doe",
		"ISPKIT_ITEM_PASSWORD": "S3cret-pw-101", "ISPKIT_ITEM_DOMAIN": "s101.example.net",
		"ISPKIT_ITEM_SERVER_CONFIG": "E3-16GB", "ISPKIT_ITEM_OSTEMPLATE": "ISPsystem__Debian-12-x86_64",
	}
	bill := &PrintBilling{W: w}
	env := &Env{
		Params:  EnvParams{Lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }},
		Billing: bill,
		Log:     w,
		DB:      dbPath,
		// The fake's servers have no network: ask the fake whether the
		// server is up (leave nil in production: TCP dial to port 22).
		Reachability: func(_ context.Context, serverID string) error {
			id, _ := strconv.ParseInt(serverID, 10, 64)
			if st, ok := panel.Server(id); !ok || !st.PowerOn {
				return fmt.Errorf("server %s does not answer", serverID)
			}
			return nil
		},
	}

	item := strconv.Itoa(demoItem)
	connDoc := fmt.Sprintf("<doc><processingmodule><id>1</id><url>%s</url><username>%s</username><password>%s</password></processingmodule></doc>",
		html.EscapeString(panel.URL()), html.EscapeString(admin), html.EscapeString(pw))
	script := []invocation{
		{argv: []string{"--command", "features"}},
		{argv: []string{"--command", "check_connection"}, stdin: connDoc},
		{argv: []string{"--command", "open", "--item", item, "--runningoperation", "1", "--lang", "en"}},
		{argv: []string{"--command", "open", "--item", item, "--runningoperation", "1", "--lang", "en"}}, // BILLmanager re-runs it
		{argv: []string{"--command", "sync_item", "--item", item}},
		{argv: []string{"--command", "transition_control_panel", "--item", item, "--panelkey", "x"}},
		{argv: []string{"--command", "suspend", "--item", item, "--runningoperation", "2"}},
		{argv: []string{"--command", "resume", "--item", item, "--runningoperation", "3"}},
		{argv: []string{"--command", "close", "--item", item, "--runningoperation", "4"}},
		{argv: []string{"--command", "reboot", "--item", item}}, // not a feature: error document
	}
	var out []outcome
	for _, inv := range script {
		fmt.Fprintf(w, "$ %s %s\n", moduleName, strings.Join(inv.argv, " "))
		var stdout bytes.Buffer
		code := run(ctx, env, inv.argv, strings.NewReader(inv.stdin), &stdout)
		if stdout.Len() > 0 {
			fmt.Fprintf(w, "  stdout: %s\n", stdout.String())
		}
		o := outcome{argv: inv.argv, code: code, stdout: stdout.String()}
		st, err := serviceStatus(ctx, dbPath, item)
		if err != nil {
			return out, bill, err
		}
		o.status = st
		fmt.Fprintf(w, "  exit %d", code)
		if st != "" {
			fmt.Fprintf(w, "; item %s is %s", item, st)
		}
		fmt.Fprintln(w)
		out = append(out, o)
		if ctx.Err() != nil {
			return out, bill, ctx.Err()
		}
	}
	if srv, ok := panel.Server(1); ok {
		fmt.Fprintf(w, "server 1 (failed install): disabled=%v notes=%q\n", srv.Disabled, srv.Notes)
	}
	return out, bill, nil
}
