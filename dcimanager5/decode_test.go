package dcimanager5_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// canned serves body for every request.
func canned(t *testing.T, body string) *dcimanager5.Client {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(hs.Close)
	c, err := dcimanager5.NewClient(hs.URL+"/dcimgr", dcimanager5.WithCredentials("admin", "pw-not-logged"),
		dcimanager5.WithRetry(1, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	return c
}

// A one-row list in out=json: elem is an object, flags are {}, type has a
// $orig attribute, metadata and tparams are present.
const oneRowObject = `{"doc":{"$lang":"en","$func":"server","$binary":"/dcimgr",
 "elem":{"id":{"$":"12"},"name":{"$":"srv \"12\""},"hostname":{"$":"free.ds"},"ip":{"$":"10.10.0.12"},
   "type":{"$orig":"1U-E3","$":"1U Xeon E3"},"chassis_templ":{"$":"E3-16GB"},"gen_chassis_name":{"$":"Xeon E3, 16 GB"},
   "rack":{"$":"R1 unit 12"},"poweroff":{},"hwproblem":{}},
 "metadata":{"$name":"server","$type":"list","$key":"id"},
 "p_cnt":{"$":"1000"},"p_num":{"$":"1"},
 "tparams":{"func":{"$":"server"},"out":{"$":"json"}}}}`

// The same row as an out=sjson one-item array, with the owner set.
const oneRowArray = `{"doc":{"elem":[{"id":{"$":"12"},"name":{"$":"srv-12"},"hostname":{"$":"c.example.com"},
  "owner":{"$":"7"},"type":{"$orig":"1U-E3","$":"1U Xeon E3"},"poweron":{},"install_in_progress":{},"operation_failed":{}}],
  "page":[{"$":"1"}],"tparams":{"func":{"$":"server"},"out":{"$":"sjson"}}}}`

// The auth failure body from spec mgr5 §2.6.
const authErrorBody = `{"doc":{"error":{"$type":"auth","$object":"badpassword","$lang":"en",
  "detail":{"$":"Invalid username or password "},
  "msg":{"$":"Invalid username or password "},
  "param":[{"$name":"object","$type":"msg","$":"badpassword"},
           {"$name":"value","$":"remote_addr: [85.140.114.49]"}]}}}`

func TestDecodeOneRowAsObject(t *testing.T) {
	t.Parallel()
	c := canned(t, oneRowObject)
	list, err := c.Servers.List(ctxT(t))
	require.NoError(t, err)
	require.Len(t, list, 1)
	s := list[0]
	assert.Equal(t, int64(12), s.ID)
	assert.Equal(t, `srv "12"`, s.Name)
	assert.Equal(t, "free.ds", s.Hostname)
	assert.Equal(t, "10.10.0.12", s.IP)
	assert.Equal(t, "1U Xeon E3", s.Type)
	assert.Equal(t, "E3-16GB", s.ChassisTemplate)
	assert.Equal(t, "Xeon E3, 16 GB", s.ChassisName)
	assert.Equal(t, "R1 unit 12", s.Rack)
	assert.True(t, s.PowerOff)
	assert.True(t, s.HWProblem)
	assert.False(t, s.PowerOn || s.Blocked || s.Disabled || s.InstallInProgress)
	assert.False(t, s.HasOwner())
	// hwproblem: not available even though the rest matches.
	assert.False(t, s.Available("E3-16GB"))
	s.HWProblem = false
	assert.True(t, s.Available("E3-16GB"))
	assert.True(t, s.Available("1U-E3"), "the $orig value of type matches")
	assert.True(t, s.Available("1U Xeon E3"))
	assert.False(t, s.Available("E5-64GB"))
}

func TestDecodeOneRowAsArray(t *testing.T) {
	t.Parallel()
	c := canned(t, oneRowArray)
	list, err := c.Servers.List(ctxT(t))
	require.NoError(t, err)
	require.Len(t, list, 1)
	s := list[0]
	assert.Equal(t, int64(7), s.Owner)
	assert.True(t, s.HasOwner())
	assert.True(t, s.PowerOn && s.InstallInProgress && s.OperationFailed)
	assert.False(t, s.Installed())
	assert.False(t, s.Available(""))
}

func TestDecodeAuthErrorBody(t *testing.T) {
	t.Parallel()
	c := canned(t, authErrorBody)
	_, err := c.Servers.List(ctxT(t))
	require.Error(t, err)
	assert.True(t, dcimanager5.IsAuth(err))
	assert.False(t, dcimanager5.IsNotFound(err))
	var pe *dcimanager5.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "auth", pe.Type)
	assert.Equal(t, "badpassword", pe.Object)
	assert.Equal(t, "remote_addr: [85.140.114.49]", pe.Value)
	assert.Equal(t, "Invalid username or password", pe.Message)
	assert.Equal(t, "server", pe.Func)
	assert.NotContains(t, err.Error(), "pw-not-logged")
}

func TestDecodeMalformedAndHTML(t *testing.T) {
	t.Parallel()
	c := canned(t, `<html><body>502 Bad Gateway</body></html>`)
	_, err := c.Servers.List(ctxT(t))
	var pe *dcimanager5.ProtocolError
	require.ErrorAs(t, err, &pe)

	c = canned(t, `{"doc":{"elem":[{"id":{"$":"1"`)
	_, err = c.Servers.List(ctxT(t))
	require.ErrorAs(t, err, &pe)
}

// The fake renders a one-server list as an object with out=json and as an
// array with out=sjson; the client decodes both the same way.
func TestDecodeJSONAndSJSONFromFake(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "sjson"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithoutSeed(), dcimanager5test.WithOutput(format)})
			require.NoError(t, srv.AddPool("parking", "ipv4", "10.1.0.0/24"))
			id, err := srv.AddServer(dcimanager5test.ServerSpec{Name: "only", ChassisTemplate: "T1", Type: "1U"})
			require.NoError(t, err)
			list, err := c.Servers.List(ctxT(t))
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, id, list[0].ID)
			assert.Equal(t, "free.ds", list[0].Hostname)
			assert.Equal(t, "10.1.0.1", list[0].IP)
			assert.True(t, list[0].PowerOff)
			assert.True(t, list[0].Available("T1"))
			ips, err := c.IPs.List(ctxT(t), id)
			require.NoError(t, err)
			require.Len(t, ips, 1, "the group header row is skipped")
		})
	}
}
