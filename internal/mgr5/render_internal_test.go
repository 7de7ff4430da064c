package mgr5

import (
	"bytes"
	"encoding/json"
	"testing"
)

// writeJSONString must escape exactly as encoding/json does.
func FuzzWriteJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\nret\r", "\x00\x1f\x7f", "<a&b>", "é中😀",
		"\u2028\u2029", "bad\xffutf8\xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		writeJSONString(&buf, s)
		want, _ := json.Marshal(s)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("writeJSONString(%q) = %s, encoding/json = %s", s, buf.Bytes(), want)
		}
	})
}
