package ispkit_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ispkit/ispkit/internal/wire"
)

// uncitable matches what a reader of the module's documentation cannot
// follow: sections of the project's private spec ("spec §A5.9"), its
// source grades ("[G]", "[I]", "[C3]"), and files that live outside the
// module (the vendor seed documents, the design notes, the shared spec
// directory). Exported docs cite the vendor's pages or a ledger entry and
// say in words what is assumed.
var uncitable = regexp.MustCompile(`§|\[[A-Z][0-9]?\]|\bspec\s+(mgr5|dci|ipm|isp|[A-Z]?\d)|\bseeds?\s+(\d|")|\bseeds/|design\.md|\b(mgr5|dcimanager6|billmanager-module|go-sdk-style)\.md|go-sdk-style|/work/|\bshared/spec|\.\./shared`)

// TestExportedDocsCiteOnlyWhatAUserCanOpen reads the documentation of
// every exported name of every package in the module, as go doc shows it,
// and fails on a citation a user cannot follow.
func TestExportedDocsCiteOnlyWhatAUserCanOpen(t *testing.T) {
	t.Parallel()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d packages", len(dirs))
	}
	for dir, files := range dirs {
		fset := token.NewFileSet()
		var parsed []*ast.File
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(fset, f, src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, af)
		}
		p, err := doc.NewFromFiles(fset, parsed, "github.com/ispkit/ispkit/"+dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		check := func(what, text string) { checkCitations(t, dir+": "+what, text) }
		checkDecl := func(what string, n ast.Node) {
			ast.Inspect(n, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.Field:
					if len(x.Names) > 0 && !x.Names[0].IsExported() {
						return false
					}
					check(what, x.Doc.Text()+x.Comment.Text())
				case *ast.ValueSpec:
					check(what, x.Doc.Text()+x.Comment.Text())
				case *ast.TypeSpec:
					check(what, x.Doc.Text()+x.Comment.Text())
				}
				return true
			})
		}
		check("package doc", p.Doc)
		values := func(vs []*doc.Value) {
			for _, v := range vs {
				check(strings.Join(v.Names, ", "), v.Doc)
				checkDecl(strings.Join(v.Names, ", "), v.Decl)
			}
		}
		funcs := func(recv string, fs []*doc.Func) {
			for _, f := range fs {
				check(recv+f.Name, f.Doc)
			}
		}
		values(p.Consts)
		values(p.Vars)
		funcs("", p.Funcs)
		for _, ty := range p.Types {
			check(ty.Name, ty.Doc)
			checkDecl(ty.Name, ty.Decl)
			values(ty.Consts)
			values(ty.Vars)
			funcs("", ty.Funcs)
			funcs(ty.Name+".", ty.Methods)
		}
	}
}

// checkCitations fails on every uncitable reference in text, read with
// its line breaks folded (a citation may wrap).
func checkCitations(t *testing.T, what, text string) {
	t.Helper()
	flat := strings.Join(strings.Fields(text), " ")
	for _, loc := range uncitable.FindAllStringIndex(flat, -1) {
		from, to := max(loc[0]-40, 0), min(loc[1]+40, len(flat))
		t.Errorf("%s: doc cites %q, which a user cannot open: …%s…", what, flat[loc[0]:loc[1]], flat[from:to])
	}
}

// The wire ledgers are documentation too (each client's Ledger()): their
// sources and notes must be something a user can open or read.
func TestLedgersCiteOnlyWhatAUserCanOpen(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]wire.Ledger{
		"dcimanager5": wire.DCImanager5, "dcimanager6": wire.DCImanager6,
		"ipmanager": wire.IPmanager, "ispmanager": wire.ISPmanager,
	} {
		for _, c := range l {
			checkCitations(t, name+" ledger "+c.Func, c.Source+" "+c.Note)
		}
	}
}
