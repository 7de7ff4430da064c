package main

import (
	"testing"

	"github.com/ispkit/ispkit/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m, "dcimanager5", main) }

// -h says what the program does on its first line, then its flags,
// including those that point it at a real panel, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	exampletest.Help(t, "dcimanager5 provisions a dedicated server on DCImanager 5",
		"-url", "-user", "-password", "-install", "-insecure", "DCI_PASSWORD")
}
