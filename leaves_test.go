package ispkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPanelPackagesAreLeaves keeps the panel clients free of the engine and
// the billing model: a user who only wants a DCImanager client must not
// compile (or be tied to the release cycle of) provision or billing, and
// the engine composes the clients through its own adapters. It asks the go
// command for every package each panel package depends on, its fakes
// included.
func TestPanelPackagesAreLeaves(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	panels := []string{
		"./dcimanager5/...", "./dcimanager6/...", "./ipmanager/...", "./ispmanager/...",
	}
	args := append([]string{"list", "-deps", "-test=false", "-f", "{{.ImportPath}}"}, panels...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/ispkit/ispkit/billing", "github.com/ispkit/ispkit/provision"}
	n := 0
	for _, dep := range strings.Fields(string(out)) {
		n++
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("a panel package depends on %s", dep)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list named only %d packages; the check saw nothing", n)
	}
}
