package main

import (
	"testing"

	"github.com/ispkit/ispkit/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m, "dcimanager6", main) }

// -h says what the program does on its first line, then its flags,
// including those that point it at a real panel, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	exampletest.Help(t, "dcimanager6 sells a dedicated server with the DCImanager 6 client",
		"-url", "-email", "-password", "-install", "-insecure", "DCI6_PASSWORD")
}
