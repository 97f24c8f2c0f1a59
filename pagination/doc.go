// Package pagination owns everything idbolt needs to page a Logto-style
// list endpoint: parsing the page and page_size query parameters (Parse),
// turning them into an offset (Params.Offset), the wire format of the
// response headers (WriteHeaders: Total-Number and Link, as Logto emits
// them), and a cursor walker (Walk) that filters, counts and slices a key
// range in one pass.
//
// Every list handler goes through this package so that the defaults, the
// limits and the error messages are identical across endpoints, and so
// that the Link header byte format lives in one place that can be tested
// against Logto's real outputs.
//
// The package deliberately does not import bbolt. Walk works on the small
// Cursor and BidiCursor interfaces, which *bbolt.Cursor satisfies as is,
// so the store package can hand its cursors over without this package
// depending on the storage engine, and the tests can use an in-memory
// cursor instead of opening a database.
package pagination
