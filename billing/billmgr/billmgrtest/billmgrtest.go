// Package billmgrtest tests BILLmanager processing modules without a
// BILLmanager: it builds a fake mgrctl (the program in ./fakemgrctl) and
// lays out a directory like /usr/local/mgr5 around it, so that a module
// runs exactly as installed — from <root>/processing, with <root> as working
// directory, calling <root>/sbin/mgrctl.
//
// The fake mgrctl records every call (arguments, working directory,
// SSH_CONNECTION) and answers as BILLmanager does, strictly:
//
//   - the command line must be "-m billmgr <func> name=value … out=xml"
//     (out=xml exactly once; other output formats are not modelled);
//   - form views (any function listed in State.Forms, typically
//     processing.edit, dedic.edit and pricelist.edit) take elid only and
//     answer <doc><field>value</field>…</doc>; an unknown elid answers an
//     error of type "missed";
//   - the callbacks service.postopen, postsuspend, postresume, postclose,
//     postsetparam, postprolong, postreopen, postchangepassword,
//     service.saveparam (name, value), service.setstatus (service_status,
//     a number), service.setexpiredate (expiredate, YYYY-MM-DD),
//     runningoperation.edit (errorxml, an XML <doc> with an <error type>)
//     and runningoperation.setmanual need elid (an item of State.Items, or
//     for runningoperation.* an id of State.Operations) and sok=ok, and
//     refuse any other parameter; they answer <doc><ok/></doc>;
//   - any other function answers an error of type "missed", object "func";
//   - a refusal prints the error document and exits with status 1 (the
//     public sources do not say what mgrctl's exit status is on an error
//     document; ISPsystem's Python helper treats both as failure).
//
// State.Fail makes a function fail with a given error and exit status.
package billmgrtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ispkit/ispkit/billing/billmgr"
)

// State is what the fake BILLmanager knows; it is stored as JSON in
// <root>/etc/billmgrtest.json and read by every mgrctl run.
type State struct {
	// Forms answers form views: Forms[func][elid] holds the fields.
	Forms map[string]map[string]map[string]string `json:"forms,omitempty"`
	// Items are the service (item) ids callbacks may name.
	Items []int64 `json:"items,omitempty"`
	// Operations are the running operation ids.
	Operations []int64 `json:"operations,omitempty"`
	// Fail makes a function fail.
	Fail map[string]Failure `json:"fail,omitempty"`
}

// Failure is an injected mgrctl failure: the error document (Type, Object,
// Message; no document when Type is empty) and the exit status.
type Failure struct {
	Type    string `json:"type,omitempty"`
	Object  string `json:"object,omitempty"`
	Message string `json:"message,omitempty"`
	Exit    int    `json:"exit"`
}

// Call is one recorded mgrctl run.
type Call struct {
	// Args are the arguments after the program name.
	Args []string `json:"args"`
	// Func is the function called ("" when the command line was bad).
	Func string `json:"func"`
	// Params are the name=value parameters (out included).
	Params map[string]string `json:"params"`
	// Dir is the working directory.
	Dir string `json:"dir"`
	// SSHConnection is the SSH_CONNECTION environment variable.
	SSHConnection string `json:"ssh_connection"`
	// Exit is the exit status the fake chose.
	Exit int `json:"exit"`
}

// Paths inside a root, relative.
const (
	StateFile = "etc/billmgrtest.json"
	LogFile   = "var/billmgrtest-mgrctl.jsonl"
	MgrctlBin = "sbin/mgrctl"
)

// Build compiles the fake mgrctl into dir/mgrctl and returns its path. Call
// it once per test binary (for example from TestMain): it runs "go build".
func Build(dir string) (string, error) {
	return GoBuild(dir, "mgrctl", "github.com/ispkit/ispkit/billing/billmgr/billmgrtest/fakemgrctl")
}

// GoBuild compiles the main package pkg into dir/name with "go build" and
// returns its path: the way to get a module binary to [Fake.Install].
func GoBuild(dir, name, pkg string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, name)
	if msg, err := exec.Command(goBin, "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("billmgrtest: building %s: %v\n%s", pkg, err, msg)
	}
	return out, nil
}

// Fake is one fake BILLmanager installation.
type Fake struct {
	// Root is the installation directory (a temporary one).
	Root string
}

// New lays out a fake installation in tb.TempDir(): bin (from Build)
// copied to sbin/mgrctl, the directories etc, var and processing, and st.
func New(tb testing.TB, bin string, st State) *Fake {
	tb.Helper()
	f := &Fake{Root: tb.TempDir()}
	for _, d := range []string{"sbin", "etc", "var", "processing"} {
		if err := os.MkdirAll(filepath.Join(f.Root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := copyFile(bin, filepath.Join(f.Root, MgrctlBin), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := f.SetState(st); err != nil {
		tb.Fatal(err)
	}
	return f
}

// Install copies a module binary to <root>/processing/<name> and returns
// its path.
func (f *Fake) Install(bin, name string) (string, error) {
	dst := filepath.Join(f.Root, "processing", name)
	return dst, copyFile(bin, dst, 0o755)
}

// copyFile puts the executable src at dst: a hard link when it can be
// made, else a copy. A program written just before it runs can fail to
// start ("text file busy") when another goroutine forks meanwhile and the
// child briefly holds the write descriptor; a link opens nothing for
// writing.
func copyFile(src, dst string, mode os.FileMode) error {
	if st, err := os.Stat(src); err == nil && st.Mode().Perm() == mode.Perm() {
		if err := os.Link(src, dst); err == nil {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SetState replaces the fake's state.
func (f *Fake) SetState(st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.Root, StateFile), b, 0o644)
}

// Calls returns the recorded mgrctl runs, in order.
func (f *Fake) Calls() ([]Call, error) {
	fh, err := os.Open(filepath.Join(f.Root, LogFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []Call
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("billmgrtest: call log: %w", err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// Reset forgets the recorded calls.
func (f *Fake) Reset() error {
	err := os.Remove(filepath.Join(f.Root, LogFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Mgrctl returns a runner for this installation, as module name.
func (f *Fake) Mgrctl(module string) *billmgr.Mgrctl {
	return &billmgr.Mgrctl{Root: f.Root, Module: module}
}
