package provision_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ispkit/ispkit/provision"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the step graphs section of doc.go from provision.Graphs")

const (
	graphsBegin = "// # Step graphs\n"
	graphsEnd   = "\n//\n// # "
)

// renderGraphs writes the step graphs as the package doc shows them.
func renderGraphs() string {
	var b strings.Builder
	b.WriteString(graphsBegin)
	b.WriteString("//\n// Generated from provision.Graphs (go test -run TestDocGraphs -update-doc):\n")
	b.WriteString("// each step, its phase, the steps it may go to, and what it does. Every\n")
	b.WriteString("// step may also fail the operation; \"fail\" records the failure on the\n")
	b.WriteString("// service and ends the operation failed.\n")
	// Graphs of one product with the same steps share a table.
	var heads []string
	var prevProduct provision.ServiceKind
	prevBody := ""
	flush := func() {
		if len(heads) > 0 {
			fmt.Fprintf(&b, "//\n// %s, %s:\n//\n%s", prevProduct, strings.Join(heads, ", "), prevBody)
		}
	}
	for _, g := range provision.Graphs() {
		if g.Product == provision.KindTest {
			continue
		}
		var body strings.Builder
		for _, s := range g.Steps {
			next := strings.Join(s.Next, " | ")
			if next == "" {
				next = "fail" // a step that only ends the operation failed
			}
			fmt.Fprintf(&body, "//\t%-16s %-8s → %s\n", s.Name, s.Phase, next)
			if s.Doc != "" && s.Doc != "—" {
				fmt.Fprintf(&body, "//\t    %s\n", s.Doc)
			}
		}
		if g.Product == prevProduct && body.String() == prevBody {
			heads = append(heads, string(g.Kind))
			continue
		}
		flush()
		heads, prevProduct, prevBody = []string{string(g.Kind)}, g.Product, body.String()
	}
	flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// TestDocGraphs checks the package doc's step tables against the graphs
// the products declare.
func TestDocGraphs(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	i := strings.Index(doc, graphsBegin)
	if i < 0 {
		t.Fatalf("doc.go has no %q section", strings.TrimSpace(graphsBegin))
	}
	j := strings.Index(doc[i:], graphsEnd)
	if j < 0 {
		t.Fatal("doc.go: the step graphs section has no end")
	}
	want := renderGraphs()
	if got := doc[i : i+j]; got != want {
		if *updateDoc {
			if err := os.WriteFile("doc.go", []byte(doc[:i]+want+doc[i+j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("doc.go's step graphs differ from provision.Graphs; run go test -run TestDocGraphs -update-doc ./provision/\n--- doc.go\n%s\n--- Graphs\n%s", got, want)
	}
}
