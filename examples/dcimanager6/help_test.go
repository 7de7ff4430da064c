package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs the program's main instead of the tests when the help
// test re-executes this test binary, so -h is tested without building
// the program.
func TestMain(m *testing.M) {
	if os.Getenv("ISPKIT_EXAMPLE_RUN_MAIN") == "1" {
		os.Args = []string{"dcimanager6", "-h"}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// -h says what the program does on its first line, then its flags,
// including those that point it at a real panel, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ISPKIT_EXAMPLE_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	first, rest, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(first, "dcimanager6 sells a dedicated server with the DCImanager 6 client") {
		t.Errorf("first line %q", first)
	}
	for _, f := range []string{"-url", "-email", "-password", "-install", "-insecure", "DCI6_PASSWORD"} {
		if !strings.Contains(rest, f) {
			t.Errorf("-h does not mention %s:\n%s", f, rest)
		}
	}
}
