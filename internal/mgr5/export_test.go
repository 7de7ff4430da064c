package mgr5

// Test hooks: the encoding/json reference paths the scanner must match.
var (
	DecodeListJSON = decodeListJSON
	RowsJSON       = rowsJSON
	ScanRows       = scanRows
)

// ScanList reports whether the list fast path handled body.
func ScanList(body []byte) bool { _, _, ok := scanList(body); return ok }

// DecodeStream is the token-by-token list decoder behind StreamList.
var DecodeStream = decodeStream
