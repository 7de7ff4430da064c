package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billing/billmgr"
)

func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	var log bytes.Buffer
	out, bill, err := demo(ctx, &log, filepath.Join(t.TempDir(), "pmispkit.db"))
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, log.String())
	}
	byCmd := map[string]outcome{}
	for _, o := range out {
		byCmd[o.argv[1]] = o // a re-run of open overwrites the first: both must pass
	}

	// features parses and lists the commands.
	var f billmgr.Features
	doc := byCmd["features"].stdout
	if err := xml.Unmarshal([]byte(doc), &f); err != nil {
		t.Fatalf("features XML: %v\n%s", err, doc)
	}
	if len(f.ItemTypes) != 1 || f.ItemTypes[0].Name != "dedic" {
		t.Errorf("item types = %+v, want dedic", f.ItemTypes)
	}
	for _, c := range []billmgr.Command{billmgr.CmdOpen, billmgr.CmdSuspend, billmgr.CmdResume, billmgr.CmdClose, billmgr.CmdSyncItem} {
		if !f.Supports(c) {
			t.Errorf("features do not list %s", c)
		}
	}

	want := []struct {
		cmd    string
		code   int
		status billing.Status
	}{
		{"check_connection", 0, ""},
		{"open", 0, billing.StatusActive},
		{"sync_item", 0, billing.StatusActive},
		{"transition_control_panel", 0, billing.StatusActive},
		{"suspend", 0, billing.StatusSuspended},
		{"resume", 0, billing.StatusActive},
		{"close", 0, billing.StatusDeleted},
		{"reboot", billmgr.ExitFailure, billing.StatusDeleted},
	}
	for _, w := range want {
		o, ok := byCmd[w.cmd]
		if !ok {
			t.Errorf("%s: not run", w.cmd)
			continue
		}
		if o.code != w.code || o.status != w.status {
			t.Errorf("%s: exit %d, item 101 %q; want exit %d, %q (stdout %s)", w.cmd, o.code, o.status, w.code, w.status, o.stdout)
		}
	}
	for _, o := range out {
		switch o.argv[1] {
		case "open", "suspend", "resume", "close", "sync_item":
			if o.stdout != "" {
				t.Errorf("%s printed %q; action commands print nothing", o.argv[1], o.stdout)
			}
		}
	}
	if !strings.Contains(byCmd["reboot"].stdout, `type="unsupported"`) {
		t.Errorf("reboot: %s", byCmd["reboot"].stdout)
	}

	// The callbacks that close the running operations, in order; open
	// twice (the re-run reports again without a second server).
	var posts []string
	for _, c := range bill.Calls() {
		if i := strings.Index(c, "service.post"); i >= 0 {
			posts = append(posts, strings.Fields(c[i:])[0])
		}
	}
	wantPosts := []string{"service.postopen", "service.postopen", "service.postsuspend", "service.postresume", "service.postclose"}
	if !slices.Equal(posts, wantPosts) {
		t.Errorf("callbacks = %v, want %v", posts, wantPosts)
	}
	if !slices.Contains(bill.Calls(), `mgrctl -m billmgr service.saveparam elid="101" name="server_id" value="2" sok=ok`) {
		t.Errorf("server_id not saved on the item (server 1 fails its install, server 2 is sold): %v", bill.Calls())
	}
	if t.Failed() {
		t.Log(log.String())
	}
}

// A failed open reports the error document, exits non-zero and stores the
// error on the running operation.
func TestOpenWithoutParams(t *testing.T) {
	bill := &PrintBilling{}
	env := &Env{Params: EnvParams{Lookup: func(string) (string, bool) { return "", false }}, Billing: bill}
	var stdout bytes.Buffer
	code := run(context.Background(), env, []string{"--command", "open", "--item", "5", "--runningoperation", "9"}, nil, &stdout)
	if code != billmgr.ExitFailure || !strings.Contains(stdout.String(), "<error type=") {
		t.Fatalf("exit %d, stdout %s", code, stdout.String())
	}
	calls := bill.Calls()
	if len(calls) != 1 || !strings.Contains(calls[0], "runningoperation.edit") || !strings.Contains(calls[0], `elid="9"`) {
		t.Fatalf("calls = %v", calls)
	}
}

// The plugin description matches what the module reads and reports: its
// file name, the connection fields it declares in features, the tariff
// fields it reads, and a message for every error type it prints.
func TestModuleXML(t *testing.T) {
	b, err := os.ReadFile("billmgr_mod_" + moduleName + ".xml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Plugin struct {
			Name string `xml:"name,attr"`
		} `xml:"plugin"`
		Metadata []struct {
			Name   string `xml:"name,attr"`
			Fields []struct {
				Name string `xml:"name,attr"`
			} `xml:"form>page>field"`
			Plain []struct {
				Name string `xml:"name,attr"`
			} `xml:"form>field"`
		} `xml:"metadata"`
		Messages []struct {
			Name string `xml:"name,attr"`
			Msgs []struct {
				Name string `xml:"name,attr"`
			} `xml:"msg"`
		} `xml:"lang>messages"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Plugin.Name != moduleName {
		t.Errorf("plugin %q, want %q", doc.Plugin.Name, moduleName)
	}
	forms := map[string][]string{}
	for _, m := range doc.Metadata {
		for _, f := range append(m.Fields, m.Plain...) {
			forms[m.Name] = append(forms[m.Name], f.Name)
		}
	}
	f, _ := (&module{}).Features(context.Background())
	var params []string
	for _, p := range f.Params {
		params = append(params, p.Name)
	}
	if got := forms["processing.edit."+moduleName]; !slices.Equal(got, params) {
		t.Errorf("connection form %v, features params %v", got, params)
	}
	want := []string{tariffServer, tariffOSDefault, tariffOSTemplates, tariffRecipe, tariffDontWait}
	if got := forms["pricelist."+moduleName]; !slices.Equal(got, want) {
		t.Errorf("tariff form %v, want %v", got, want)
	}
	msgs := map[string]bool{}
	for _, m := range doc.Messages {
		for _, msg := range m.Msgs {
			msgs[m.Name+"/"+msg.Name] = true
		}
	}
	for _, typ := range []string{"ispkit_no_server", "ispkit_busy", "ispkit_status", "ispkit_ostemplate", "ispkit_provision", "ispkit_config"} {
		if !msgs["msgerror/msg_error_"+typ] {
			t.Errorf("no message for error type %s", typ)
		}
	}
}
