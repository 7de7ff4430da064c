package dcimanager6test_test

import (
	"encoding/json"
	"fmt"

	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

// A fake filled from a JSON data set, as the ispkit simulator does with a
// seed file, then dumped.
func ExampleServer_Load() {
	srv := dcimanager6test.NewServer(dcimanager6test.WithoutSeed())
	defer srv.Close()
	var seed dcimanager6test.SeedData
	if err := json.Unmarshal([]byte(`{
		"locations": [{"name": "Riga", "switch": "sw-riga"}],
		"templates": [{"name": "Debian 12", "location": "Riga"}],
		"pools": [{"name": "pub", "location": "Riga", "network": "203.0.113.0/24", "range": "203.0.113.10-203.0.113.19"}],
		"servers": [{"name": "r1", "configuration": "E-2146G", "location": "Riga"}]
	}`), &seed); err != nil {
		panic(err)
	}
	if err := srv.Load(seed); err != nil {
		panic(err)
	}
	st := srv.Dump()
	fmt.Println(len(st.Servers), st.Servers[0].Name, srv.Available(st.Servers[0].ID), len(st.IPs))
	// Output: 1 r1 true 10
}
