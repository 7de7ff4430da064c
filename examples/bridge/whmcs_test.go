package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const modulePath = "whmcs/modules/servers/ispkitbridge/ispkitbridge.php"

// requirePHP returns the php command, or skips the test when there is no
// php with curl here. With ISPKIT_REQUIRE_PHP=1 (CI installs PHP) a
// missing php fails the test instead.
func requirePHP(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("ISPKIT_REQUIRE_PHP") == "1" {
			t.Fatalf("%s, and ISPKIT_REQUIRE_PHP=1 requires it", why)
		}
		t.Skipf("%s: the WHMCS module test needs PHP (Debian: apt-get install php-cli php-curl)", why)
	}
	php, err := exec.LookPath("php")
	if err != nil {
		missing("no php in PATH")
	}
	if err := exec.Command(php, "-r", `exit(function_exists("curl_init") ? 0 : 1);`).Run(); err != nil {
		missing("php has no curl extension")
	}
	return php
}

// harnessResult is what testdata/whmcs_harness.php prints.
type harnessResult struct {
	Result json.RawMessage `json:"result"`
	Log    []struct {
		Action, Request, Response, Processed string
		ReplaceSHA256                        []string `json:"replace_sha256"`
	} `json:"log"`
	LocalAPI []struct {
		Command string
		Values  map[string]any
	} `json:"localapi"`
}

// whmcs calls the module's functions the way WHMCS does, through the
// harness.
type whmcs struct {
	t       *testing.T
	php     string
	secrets []string // must appear in no log entry and no result
}

func (w *whmcs) call(fn string, params map[string]any) harnessResult {
	w.t.Helper()
	in, err := json.Marshal(params)
	require.NoError(w.t, err)
	cmd := exec.Command(w.php, filepath.Join("testdata", "whmcs_harness.php"), modulePath, fn)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(w.t, err, "php %s: %s", fn, stderr.String())
	var r harnessResult
	require.NoError(w.t, json.Unmarshal(out, &r), "php %s printed: %s", fn, out)
	for _, s := range w.secrets {
		assert.NotContains(w.t, string(r.Result), s, "%s result", fn)
		for _, e := range r.Log {
			for _, field := range []string{e.Request, e.Response, e.Processed} {
				assert.NotContains(w.t, field, s, "%s module log", fn)
			}
		}
	}
	return r
}

// status returns the string result of a core function ("success" or the
// error message).
func (r harnessResult) status(t *testing.T) string {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(r.Result, &s), "result %s", r.Result)
	return s
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestWHMCSModule runs the PHP module's functions, as WHMCS calls them,
// against the bridge over the fake panels: a dedicated server and a
// hosting account each go Active → Suspended → Active → Terminated, with
// a password change and a single sign-on link on the way.
func TestWHMCSModule(t *testing.T) {
	t.Parallel()
	php := requirePHP(t)
	b := newTestBridge(t)
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	server := map[string]any{
		"server": true, "serverhostname": u.Hostname(), "serverip": "", "serverport": u.Port(),
		"serversecure": false, "serverusername": "", "serverpassword": "", "serveraccesshash": testToken,
	}

	t.Run("TestConnection", func(t *testing.T) {
		w := &whmcs{t: t, php: php, secrets: []string{testToken}}
		var ok struct {
			Success bool
			Error   string
		}
		require.NoError(t, json.Unmarshal(w.call("TestConnection", server).Result, &ok))
		assert.True(t, ok.Success, ok.Error)

		bad := map[string]any{}
		for k, v := range server {
			bad[k] = v
		}
		bad["serveraccesshash"] = "wrong-token-0123456789"
		w.secrets = append(w.secrets, "wrong-token-0123456789")
		require.NoError(t, json.Unmarshal(w.call("TestConnection", bad).Result, &ok))
		assert.False(t, ok.Success)
		assert.Contains(t, ok.Error, CodeUnauthorized)

		bad["serverhostname"] = b.url // a full URL works too
		bad["serveraccesshash"] = testToken
		require.NoError(t, json.Unmarshal(w.call("TestConnection", bad).Result, &ok))
		assert.True(t, ok.Success, ok.Error)
	})

	for _, c := range []struct {
		name, serviceID, plan string
		configoptions         map[string]any
	}{
		{"dedicated", "9001", "1", map[string]any{"IP": "1", "OS": fakeOS2}},
		{"hosting", "9002", "2", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			const pw1, pw2 = "Whmcs-Init-pw1", "Whmcs-New-pw2"
			params := map[string]any{
				"serviceid": c.serviceID, "userid": 42, "pid": 3, "domain": "s" + c.serviceID + ".example.net",
				"username": "jdoe" + c.serviceID, "password": pw1, "producttype": "server", "moduletype": "ispkitbridge",
				"configoption1": c.plan, "configoption2": "", "configoption3": "", "configoption4": "60",
				"clientsdetails": map[string]any{"firstname": "Jane", "lastname": "Doe", "email": "jane@example.com"},
				"customfields":   map[string]any{}, "configoptions": c.configoptions,
			}
			for k, v := range server {
				params[k] = v
			}
			if c.name == "dedicated" {
				params["configoption2"], params["configoption3"] = fakeOS, fakeRecipe // the product's defaults
			}
			w := &whmcs{t: t, php: php, secrets: []string{testToken, pw1, pw2}}
			status := func() string { return b.service(c.serviceID).Status }

			r := w.call("CreateAccount", params)
			require.Equal(t, "success", r.status(t))
			require.NotEmpty(t, r.Log, "the module logs its calls with logModuleCall")
			assert.Equal(t, StatusActive, status())
			svc := b.service(c.serviceID)
			login := svc.Properties["login"]
			require.NotEmpty(t, login)
			for _, e := range r.Log {
				assert.Contains(t, e.ReplaceSHA256, sha(testToken), "the token is a replace variable of %s", e.Request)
				if strings.Contains(e.Request, "/create") {
					assert.Contains(t, e.Request, `"password":"********"`)
					assert.Contains(t, e.ReplaceSHA256, sha(pw1))
				}
			}
			require.Len(t, r.LocalAPI, 1, "the service's username and addresses are written back")
			assert.Equal(t, "UpdateClientProduct", r.LocalAPI[0].Command)
			assert.Equal(t, login, r.LocalAPI[0].Values["serviceusername"])
			if c.name == "dedicated" {
				assert.Equal(t, svc.Properties["ip"], r.LocalAPI[0].Values["dedicatedip"])
				assert.NotEmpty(t, svc.Properties["ips"], "the IP configurable option ordered an extra address")
				assert.Equal(t, fakeOS2, svc.Properties["os_template"], "the OS configurable option wins over the product's default")
				assert.Equal(t, fakeRecipe, svc.Properties["recipe"], "the product's default recipe")
				assert.Equal(t, svc.Properties["ips"], r.LocalAPI[0].Values["assignedips"])
				srv, _ := b.fakes.server(svc.Properties["server_id"])
				assert.True(t, srv.PortsOn)
			}
			// WHMCS may run Create again (an admin's click): same result, nothing new.
			require.Equal(t, "success", w.call("CreateAccount", params).status(t))
			assert.Equal(t, c.serviceID+".create.1", b.service(c.serviceID).LastOperation.ID)

			for _, s := range []struct{ fn, want string }{
				{"SuspendAccount", StatusSuspended},
				{"SuspendAccount", StatusSuspended},
				{"UnsuspendAccount", StatusActive},
			} {
				require.Equal(t, "success", w.call(s.fn, params).status(t), s.fn)
				assert.Equal(t, s.want, status(), s.fn)
				switch c.name {
				case "dedicated":
					srv, _ := b.fakes.server(svc.Properties["server_id"])
					assert.Equal(t, s.want == StatusActive, srv.PortsOn, s.fn)
				case "hosting":
					_, active := b.fakes.hostingUser(login)
					assert.Equal(t, s.want == StatusActive, active, s.fn)
				}
			}

			params["password"] = pw2
			require.Equal(t, "success", w.call("ChangePassword", params).status(t))
			if c.name == "dedicated" {
				assert.True(t, b.fakes.dedicatedLogin(t.Context(), login, pw2))
			} else {
				assert.True(t, b.fakes.hostingLogin(login, pw2))
			}

			var sso struct {
				Success    bool
				RedirectTo string
				ErrorMsg   string
			}
			r = w.call("ServiceSingleSignOn", params)
			require.NoError(t, json.Unmarshal(r.Result, &sso))
			require.True(t, sso.Success, sso.ErrorMsg)
			assert.Contains(t, sso.RedirectTo, "key=")
			link, err := url.Parse(sso.RedirectTo)
			require.NoError(t, err)
			key := link.Query().Get("key")
			require.NotEmpty(t, key)
			for _, e := range r.Log {
				assert.NotContains(t, e.Response+e.Processed, key, "the one-time link is not logged")
			}

			require.Equal(t, "success", w.call("TerminateAccount", params).status(t))
			assert.Equal(t, StatusTerminated, status())
			require.Equal(t, "success", w.call("TerminateAccount", params).status(t), "a repeated terminate is not an error")
			if c.name == "dedicated" {
				srv, _ := b.fakes.server(svc.Properties["server_id"])
				assert.Zero(t, srv.OwnerID)
				assert.Equal(t, "free.ds", srv.Hostname)
			} else {
				exists, _ := b.fakes.hostingUser(login)
				assert.False(t, exists)
			}

			// After termination WHMCS's actions are refused with the bridge's code.
			msg := w.call("UnsuspendAccount", params).status(t)
			assert.True(t, strings.HasPrefix(msg, "ispkit bridge: "+CodeServiceState), msg)
			sso = struct {
				Success    bool
				RedirectTo string
				ErrorMsg   string
			}{}
			require.NoError(t, json.Unmarshal(w.call("ServiceSingleSignOn", params).Result, &sso))
			assert.False(t, sso.Success)
		})
	}

	t.Run("errors", func(t *testing.T) {
		w := &whmcs{t: t, php: php, secrets: []string{testToken}}
		params := map[string]any{"serviceid": "9999", "password": "x", "configoption1": "1"}
		for k, v := range server {
			params[k] = v
		}
		msg := w.call("SuspendAccount", params).status(t)
		assert.True(t, strings.HasPrefix(msg, "ispkit bridge: "+CodeNotFound), msg)

		params["configoption1"] = ""
		msg = w.call("CreateAccount", map[string]any{"serviceid": "9999", "configoption1": ""}).status(t)
		assert.Contains(t, msg, "Plan")

		params["serverhostname"] = "127.0.0.1"
		params["serverport"] = "1" // nothing listens there
		msg = w.call("SuspendAccount", params).status(t)
		assert.Contains(t, msg, "cannot reach the ispkit bridge")
	})
}
