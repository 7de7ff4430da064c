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
	out := make([]Server, len(ws))
	for i := range ws {
		out[i] = ws[i].server()
	}
	return out
}

var fastCases = []string{
	`{"id":{"$":"1"},"name":{"$":"a"},"poweron":{}}`,
	`[{"id":{"$":"1"},"name":{"$":"a \"quoted\" \u00e9"},"type":{"$orig":"T","$":"Type T"},"blocked":{}},
	  {"id":{"$":"2"},"owner":{"$":"9"},"hostname":["x.example.com",{"$":"y"}],"rack":"R1",
	   "disabled":{"$":"off"},"extra":{"nested":[{"a":"}"}],"n":1},"ipmi":null,"poweroff":{}}]`,
	`[]`,
	`[ { "id" : { "$" : "3" } , "ip" : 12 , "operation_failed" : { } } ]`,
	`{"id":{"$attr":"x","$":"4"},"chassis_templ":{"$":"C","$orig":"c-orig"},"install_in_progress":[{}]}`,
}

func TestFastServersMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range fastCases {
		fast, ok := fastServers([]byte(c))
		require.True(t, ok, c)
		assert.Equal(t, slowServers(t, []byte(c)), fast, c)
	}
	// Shapes the scanner does not handle fall back.
	for _, c := range []string{`"x"`, `[{"id":{"$":"1"}`, `[1]`, `{"\u0069d":{"$":"1"}}`} {
		_, ok := fastServers([]byte(c))
		assert.False(t, ok, c)
	}
}

func FuzzFastServers(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// encoding/json matches keys case-insensitively (with Unicode
		// folding) and replaces invalid UTF-8; panels send neither, and
		// the scanner is exact. Compare on inputs where both agree.
		for _, c := range b {
			if c >= 0x80 || (c >= 'A' && c <= 'Z') {
				return
			}
		}
		if !json.Valid(b) {
			return
		}
		var ws many[wireServer]
		if json.Unmarshal(b, &ws) != nil {
			return
		}
		fast, ok := fastServers(b)
		if !ok {
			return
		}
		slow := make([]Server, len(ws))
		for i := range ws {
			slow[i] = ws[i].server()
		}
		if len(slow) == 0 && len(fast) == 0 {
			return
		}
		assert.Equal(t, slow, fast)
	})
}
