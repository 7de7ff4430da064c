// Package exampletest tests the -h of the example programs without
// building them: the test binary re-executes itself and runs the
// program's main instead of the tests.
package exampletest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const envRunMain = "ISPKIT_EXAMPLE_RUN_MAIN"

// Main is the body of an example's TestMain: when the help test
// re-executes the test binary it runs the program's main with -h (name
// is the program's name), otherwise the tests.
func Main(m *testing.M, name string, main func()) {
	if os.Getenv(envRunMain) == "1" {
		os.Args = []string{name, "-h"}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Help runs the program with -h and checks that it exits 0, that its
// first line starts with first (what the program does) and that the rest
// mentions every one of flags (those that point it at real panels).
func Help(t *testing.T, first string, flags ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	line, rest, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(line, first) {
		t.Errorf("-h: first line %q, want it to start with %q", line, first)
	}
	for _, f := range flags {
		if !strings.Contains(rest, f) {
			t.Errorf("-h does not mention %s:\n%s", f, rest)
		}
	}
}
