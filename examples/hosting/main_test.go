package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func TestDefaultRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang guard, not a timing check
	defer cancel()
	var out output
	if err := run(ctx, nil, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		`template "Site hosting" db=25 webdomains=25 + tariff "Hosting Start" db=10`,
		"accounts get db=10 webdomains=25",
		"ACTIVE  user user117", "ACTIVE  user user1181", // user118 exists: suffix
		"password changed", "Login link for user117", "key=[REDACTED]",
		"suspended", "resumed", "deleted",
		"Summary:", "Panel calls: ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	_, table, _ := strings.Cut(s, "Summary:\n")
	re := regexp.MustCompile(`(?m)^\s+(\d+)\s+\S+ \S+\s+(\S+)\s+(\S+)\s+\S+\s+(\S+ \S+|-)`)
	m := re.FindAllStringSubmatch(table, -1)
	if len(m) != 4 {
		t.Fatalf("want 4 summary rows, got %d:\n%s", len(m), table)
	}
	statuses := map[string]int{}
	for _, r := range m {
		statuses[r[2]]++
		if r[2] == "Active" && r[4] != "db=10 webdomains=25" {
			t.Errorf("service %s has limits %q in the panel, want db=10 webdomains=25", r[1], r[4])
		}
	}
	if statuses["Active"] != 3 || statuses["Deleted"] != 1 {
		t.Errorf("statuses %v, want 3 Active and 1 Deleted:\n%s", statuses, table)
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "hosting.db")
	var out output
	if err := run(context.Background(), []string{"-store", db, "-orders", "2"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ACTIVE  user user117") {
		t.Errorf("no account opened:\n%s", out.String())
	}
}

func TestRealPanelNeedsYes(t *testing.T) {
	t.Parallel()
	var out output
	err := run(context.Background(), []string{"-isp", "https://isp.invalid/ispmgr", "-isp-user", "root", "-isp-password", "x"}, &out)
	if err == nil || !strings.Contains(err.Error(), "-yes") || !strings.Contains(out.String(), "WARNING") {
		t.Fatalf("err = %v, output:\n%s", err, out.String())
	}
}
