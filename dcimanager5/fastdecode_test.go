package dcimanager5

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func slowServers(t testing.TB, elem []byte) []Server {
	var ws many[wireServer]
	require.NoError(t, json.Unmarshal(elem, &ws))
	if ws == nil {
		return nil
	}
	out := make([]Server, len(ws))
	for i := range ws {
		out[i] = ws[i].server()
	}
	return out
}

var fastCases = []string{
	`{"id":{"$":"1"},"name":{"$":"a"},"poweron":{}}`,
	`[{"id":{"$":"1"},"name":{"$":"a \"quoted\" \u00e9"},"type":{"$orig":"T","$":"Type T"},"blocked":{}},
	  {"id":{"$":"2"},"owner":{"$":"9"},"hostname":[{"$":"x.example.com"},{"$":"y"}],"rack":"R1",
	   "disabled":{"$":"off"},"extra":{"nested":[{"a":"}"}],"n":1},"ipmi":null,"poweroff":{}}]`,
	`[]`,
	`null`,
	`[null,{"id":"5"}]`,
	`[ { "id" : { "$" : "3" } , "ip" : 12 , "operation_failed" : { } } ]`,
	`{"id":{"$attr":"x","$":"4"},"chassis_templ":{"$":"C","$orig":"c-orig"},"install_in_progress":[{}]}`,
	`{"\u0069d":{"$":"1"},"poweron":"off","poweroff":[{"$":"off"}],"blocked":null,"hwproblem":{"$":"off","$orig":"x"}}`,
	"{\"chassis_templ\":{\"$\":\"\x8b\"},\"name\":\"\xff\"}", // invalid UTF-8 becomes U+FFFD
}

func TestFastServersMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range fastCases {
		fast, ok := fastServers([]byte(c))
		require.True(t, ok, c)
		assert.Equal(t, slowServers(t, []byte(c)), fast, c)
	}
	// Shapes the shared scanner does not handle fall back.
	for _, c := range []string{`"x"`, `[{"id":{"$":"1"}`, `[1]`, `{"ID":{"$":"1"}}`, `{"hoſtname":"h"}`,
		`{"hostname":["x.example.com",{"$":"y"}]}`, `{"id":{"$":1}}`} {
		_, ok := fastServers([]byte(c))
		assert.False(t, ok, c)
	}
}

func FuzzFastServers(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Wherever the shared scanner accepts the input, it must give what
		// encoding/json gives (it falls back on everything else).
		fast, ok := fastServers(b)
		if !ok {
			return
		}
		var ws many[wireServer]
		require.NoError(t, json.Unmarshal(b, &ws), "the scanner accepted invalid input")
		var slow []Server
		if ws != nil {
			slow = make([]Server, len(ws))
			for i := range ws {
				slow[i] = ws[i].server()
			}
		}
		assert.Equal(t, slow, fast)
	})
}
