package main

import (
	"testing"

	"github.com/ispkit/ispkit/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m, "hosting-client", main) }

// -h says what the program does on its first line, then its flags,
// including those that point it at a real panel, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	exampletest.Help(t, "hosting-client creates an ISPmanager hosting account",
		"-url", "-user", "-password", "-insecure", "ISP_PASSWORD")
}
