package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// -h says what the program does on its first line, then its flags,
// including those that point it at a real panel.
func TestHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	first, rest, _ := strings.Cut(out.String(), "\n")
	if !strings.HasPrefix(first, "hosting sells shared-hosting accounts on ISPmanager") {
		t.Errorf("first line %q", first)
	}
	for _, f := range []string{"-isp ", "-isp-user", "-isp-password", "-insecure", "-yes", "ISP_PASSWORD"} {
		if !strings.Contains(rest, f) {
			t.Errorf("-h does not mention %s:\n%s", f, rest)
		}
	}
}
