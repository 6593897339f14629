// Command smoke drives the Go client github.com/samuel/go-zookeeper/zk (Debian's
// golang-github-samuel-go-zookeeper-dev) against a ZooKeeper server, as an
// application uses it. Built offline in GOPATH mode and run by
// tests/tests/go_client.rs.
//
//	smoke -mode=matrix -server=HOST:PORT -root=/go_smoke -tick-ms=2000 -exists-needs-read=true
//	    connect (negotiated session timeouts, session ids), create (persistent,
//	    ephemeral, sequential, with data), get/set/delete with versions, exists,
//	    data and child watches (event type, path and state), multi (a failing op
//	    in the middle, per-op errors), digest ACLs (AddAuth, NoAuth for another
//	    client, the auth scheme, SetACL/GetACL with the hash hidden without
//	    ADMIN; exists without READ: NoAuth as in 3.9 or, with
//	    -exists-needs-read=false, the stat as in 3.8), NotEmpty, sync, and an ephemeral
//	    gone with its session. One PASS line per check; the first failed check
//	    prints `FAIL <check>: <detail>` and exits 1.
//
//	smoke -mode=restart -server=HOST:PORT -root=/restart
//	    one session across a server restart, driven line by line by the test:
//	    holds the ephemeral <root>/eph, a data watch on <root>/watched (which must
//	    exist), an exists watch on <root>/created (which must not) and a child
//	    watch on <root>, then prints `READY <session id in hex>`. After the line
//	    `RESTARTED` on stdin it waits for the client to reconnect by itself,
//	    checks the session id and the ephemeral and prints `RECONNECTED <session
//	    id>`; then each watch must fire (the test sets <root>/watched to `after`
//	    and creates <root>/created). Prints `DONE`, closes the session, exits 0.
//
// Every wait is bounded (waitFor, lineWait) and a watchdog ends the program.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

// How long one expected event, session state or log line may take.
const waitFor = 10 * time.Second

// How long the test may take to restart the server and to make its changes.
const lineWait = 60 * time.Second

// syncConnected is the KeeperState a server puts in a watch notification (the
// Go client has no name for it: its own states start at 100).
const syncConnected = zk.State(3)

func fail(check, format string, args ...interface{}) {
	fmt.Printf("FAIL %s: %s\n", check, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func pass(check string) {
	fmt.Printf("PASS %s\n", check)
}

func expect(check string, ok bool, format string, args ...interface{}) {
	if !ok {
		fail(check, format, args...)
	}
	pass(check)
}

func equal[T any](check string, got, want T) {
	expect(check, reflect.DeepEqual(got, want), "got %#v, want %#v", got, want)
}

// must fails the check on an unexpected error.
func must(check string, err error) {
	if err != nil {
		fail(check, "unexpected error: %v", err)
	}
}

// client is one session with what the library reports about it: its session
// states (WithEventCallback) and its own log lines (WithLogger), which are the
// only place it tells the negotiated session timeout.
type client struct {
	*zk.Conn
	states chan zk.State
	logs   chan string
}

func (c *client) Printf(format string, args ...interface{}) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "go-zookeeper: %s\n", line)
	select {
	case c.logs <- line:
	default:
	}
}

func (c *client) event(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	select {
	case c.states <- ev.State:
	default:
	}
}

// connect opens a session asking for `timeout` and waits for it.
func connect(check, server string, timeout time.Duration) *client {
	c := &client{states: make(chan zk.State, 64), logs: make(chan string, 64)}
	conn, _, err := zk.Connect([]string{server}, timeout, zk.WithLogger(c), zk.WithEventCallback(c.event))
	must(check, err)
	c.Conn = conn
	c.awaitState(check, zk.StateHasSession)
	return c
}

// awaitState waits for the session to reach `want`; an expired session or a
// failed authentication fails the check.
func (c *client) awaitState(check string, want zk.State) {
	deadline := time.After(waitFor)
	for {
		select {
		case state := <-c.states:
			if state == want {
				return
			}
			if state == zk.StateExpired || state == zk.StateAuthFailed {
				fail(check, "session state %v while waiting for %v", state, want)
			}
		case <-deadline:
			fail(check, "no %v within %v", want, waitFor)
		}
	}
}

var authenticated = regexp.MustCompile(`^Authenticated: id=(-?\d+), timeout=(\d+)$`)

// negotiated returns the session id and timeout (ms) the client logged when the
// server accepted its connect request.
func (c *client) negotiated(check string) (int64, int32) {
	deadline := time.After(waitFor)
	for {
		select {
		case line := <-c.logs:
			if m := authenticated.FindStringSubmatch(line); m != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				timeout, _ := strconv.ParseInt(m[2], 10, 32)
				return id, int32(timeout)
			}
		case <-deadline:
			fail(check, "the client logged no `Authenticated` line within %v", waitFor)
		}
	}
}

// awaitEvent waits up to `within` for a watch to fire with `want` on `path`.
func awaitEvent(check string, watch <-chan zk.Event, want zk.EventType, path string, within time.Duration) {
	select {
	case ev, ok := <-watch:
		expect(check, ok && ev.Type == want && ev.Path == path && ev.State == syncConnected && ev.Err == nil,
			"got %v %q (state %d, err %v), want %v %q", ev.Type, ev.Path, ev.State, ev.Err, want, path)
	case <-time.After(within):
		fail(check, "no %v for %s within %v", want, path, within)
	}
}

// quiet checks that a watch has not fired (yet).
func quiet(check string, watch <-chan zk.Event) {
	select {
	case ev := <-watch:
		fail(check, "fired early: %v %q", ev.Type, ev.Path)
	default:
		pass(check)
	}
}

func hex(id int64) string {
	return strconv.FormatUint(uint64(id), 16)
}

// removeTree deletes path and everything under it, if it exists.
func removeTree(c *client, path string) {
	children, _, err := c.Children(path)
	if err == zk.ErrNoNode {
		return
	}
	must("remove "+path, err)
	for _, child := range children {
		removeTree(c, path+"/"+child)
	}
	if err := c.Delete(path, -1); err != nil && err != zk.ErrNoNode {
		fail("remove "+path, "%v", err)
	}
}

func matrix(server, root string, tick int32, existsNeedsRead bool) {
	open := zk.WorldACL(zk.PermAll)

	// connect: the timeout is granted within [2, 20] ticks.
	a := connect("connect", server, 30*time.Second)
	id, timeout := a.negotiated("connect")
	expect("connect: session id", id != 0 && id == a.SessionID(), "logged %d, SessionID() %d", id, a.SessionID())
	equal("connect: 30 s granted", timeout, int32(30000))
	b := connect("connect short", server, time.Second)
	idB, timeout := b.negotiated("connect short")
	equal("connect: 1 s raised to 2 ticks", timeout, 2*tick)
	c := connect("connect long", server, 100*time.Second)
	idC, timeout := c.negotiated("connect long")
	equal("connect: 100 s lowered to 20 ticks", timeout, 20*tick)
	expect("connect: distinct sessions", idB != id && idC != id && idB != idC, "%x %x %x", id, idB, idC)

	// The digest first: a previous run may have left nodes only it may read.
	must("addAuth", a.AddAuth("digest", []byte("alice:secret")))
	removeTree(a, root)

	// create
	path, err := a.Create(root, []byte("root"), 0, open)
	must("create", err)
	equal("create: returns the path", path, root)
	_, err = a.Create(root, nil, 0, open)
	equal("create: NodeExists", err, zk.ErrNodeExists)
	_, err = a.Create(root+"/missing/child", nil, 0, open)
	equal("create: NoNode for a missing parent", err, zk.ErrNoNode)
	data, stat, err := a.Get(root)
	must("get", err)
	equal("get: data", string(data), "root")
	expect("get: a fresh stat", stat.Version == 0 && stat.Cversion == 0 && stat.Aversion == 0 &&
		stat.DataLength == 4 && stat.NumChildren == 0 && stat.EphemeralOwner == 0 &&
		stat.Czxid == stat.Mzxid && stat.Czxid == stat.Pzxid && stat.Ctime == stat.Mtime,
		"%+v", *stat)
	acl, _, err := a.GetACL(root)
	must("getACL", err)
	equal("getACL: world:anyone", acl, open)

	eph := root + "/eph"
	_, err = a.Create(eph, []byte("e"), zk.FlagEphemeral, open)
	must("create ephemeral", err)
	_, stat, err = b.Exists(eph)
	must("exists ephemeral", err)
	equal("ephemeral: owner is the session", stat.EphemeralOwner, id)
	_, err = a.Create(eph+"/child", nil, 0, open)
	equal("ephemeral: NoChildrenForEphemerals", err, zk.ErrNoChildrenForEphemerals)

	seq := root + "/seq"
	_, err = a.Create(seq, nil, 0, open)
	must("create "+seq, err)
	for i, want := range []string{"s-0000000000", "s-0000000001"} {
		path, err = a.Create(seq+"/s-", []byte{byte(i)}, zk.FlagSequence, open)
		must("create sequential", err)
		equal("sequential: "+want, path, seq+"/"+want)
	}
	_, err = a.Create(seq+"/plain", nil, 0, open)
	must("create plain", err)
	path, err = a.Create(seq+"/s-", nil, zk.FlagSequence|zk.FlagEphemeral, open)
	must("create ephemeral sequential", err)
	equal("sequential: the parent's cversion after a plain create", path, seq+"/s-0000000003")
	_, stat, err = a.Exists(path)
	must("exists ephemeral sequential", err)
	equal("ephemeral sequential: owner", stat.EphemeralOwner, id)
	_, stat, err = a.Exists(seq)
	must("exists "+seq, err)
	expect("sequential: parent stat", stat.Cversion == 4 && stat.NumChildren == 4, "%+v", *stat)

	// get/set/delete with versions
	node := root + "/data"
	_, err = a.Create(node, []byte("v0"), 0, open)
	must("create "+node, err)
	_, created, err := a.Get(node)
	must("get "+node, err)
	stat, err = a.Set(node, []byte("v1"), 0)
	must("set version 0", err)
	expect("set: version 1, mzxid moves", stat.Version == 1 && stat.Mzxid > created.Mzxid && stat.Czxid == created.Czxid,
		"%+v after %+v", *stat, *created)
	_, err = a.Set(node, []byte("stale"), 0)
	equal("set: BadVersion", err, zk.ErrBadVersion)
	stat, err = a.Set(node, []byte("v2"), -1)
	must("set any version", err)
	equal("set -1: version 2", stat.Version, int32(2))
	data, _, err = b.Get(node)
	must("get from another session", err)
	equal("get: the data set", string(data), "v2")
	_, _, err = a.Get(root + "/nope")
	equal("get: NoNode", err, zk.ErrNoNode)
	_, err = a.Set(root+"/nope", nil, -1)
	equal("set: NoNode", err, zk.ErrNoNode)
	equal("delete: BadVersion", a.Delete(node, 1), zk.ErrBadVersion)
	must("delete version 2", a.Delete(node, 2))
	found, _, err := a.Exists(node)
	must("exists deleted", err)
	equal("delete: gone", found, false)
	equal("delete: NoNode", a.Delete(node, -1), zk.ErrNoNode)

	watches(a, b, root, open)
	multi(a, root, open)
	acls(a, b, c, root, existsNeedsRead)

	// NotEmpty, sync
	equal("delete: NotEmpty", a.Delete(seq, -1), zk.ErrNotEmpty)
	_, err = b.Set(root, []byte("synced"), -1)
	must("set before sync", err)
	path, err = a.Sync(root)
	must("sync", err)
	equal("sync: returns the path", path, root)
	data, _, err = a.Get(root)
	must("get after sync", err)
	equal("sync: sees the other session's write", string(data), "synced")

	// An ephemeral goes with its session.
	gone := root + "/b-eph"
	_, err = b.Create(gone, nil, zk.FlagEphemeral, open)
	must("create b's ephemeral", err)
	_, _, watch, err := a.ExistsW(gone)
	must("exists watch on b's ephemeral", err)
	b.Close()
	awaitEvent("close: the ephemeral is deleted", watch, zk.EventNodeDeleted, gone, waitFor)
	found, _, err = a.Exists(gone)
	must("exists after close", err)
	equal("close: the ephemeral is gone", found, false)

	removeTree(a, root)
	found, _, err = a.Exists(root)
	must("exists after cleanup", err)
	equal("cleanup: nothing left", found, false)
	c.Close()
	a.Close()
	fmt.Println("DONE the Go client matrix")
}

// watches: data, exists and child watches, each fired by a change of the other
// session (or of its own: then the notification comes before the reply).
func watches(a, b *client, root string, open []zk.ACL) {
	node := root + "/w"
	_, err := a.Create(node, []byte("x"), 0, open)
	must("create "+node, err)

	_, _, watch, err := a.GetW(node)
	must("get watch", err)
	quiet("data watch: not fired by a read", watch)
	_, err = b.Set(node, []byte("y"), -1)
	must("set by another session", err)
	awaitEvent("data watch: NodeDataChanged", watch, zk.EventNodeDataChanged, node, waitFor)

	_, _, watch, err = a.GetW(node)
	must("get watch again", err)
	_, err = a.Set(node, []byte("z"), -1)
	must("set by the watching session", err)
	select {
	case ev := <-watch:
		expect("data watch: the notification precedes the reply", ev.Type == zk.EventNodeDataChanged && ev.Path == node,
			"got %v %q", ev.Type, ev.Path)
	default:
		fail("data watch: the notification precedes the reply", "the reply came first")
	}

	_, _, watch, err = a.GetW(node)
	must("get watch before delete", err)
	must("delete "+node, b.Delete(node, -1))
	awaitEvent("data watch: NodeDeleted", watch, zk.EventNodeDeleted, node, waitFor)

	fresh := root + "/fresh"
	found, _, watch, err := a.ExistsW(fresh)
	must("exists watch on a missing node", err)
	equal("exists: false", found, false)
	_, err = b.Create(fresh, nil, 0, open)
	must("create "+fresh, err)
	awaitEvent("exists watch: NodeCreated", watch, zk.EventNodeCreated, fresh, waitFor)
	found, _, watch, err = a.ExistsW(fresh)
	must("exists watch on a node", err)
	equal("exists: true", found, true)
	_, err = b.Set(fresh, []byte("d"), -1)
	must("set "+fresh, err)
	awaitEvent("exists watch: NodeDataChanged", watch, zk.EventNodeDataChanged, fresh, waitFor)
	_, _, watch, err = a.ExistsW(fresh)
	must("exists watch before delete", err)
	must("delete "+fresh, b.Delete(fresh, -1))
	awaitEvent("exists watch: NodeDeleted", watch, zk.EventNodeDeleted, fresh, waitFor)

	kids := root + "/kids"
	_, err = a.Create(kids, nil, 0, open)
	must("create "+kids, err)
	children, _, watch, err := a.ChildrenW(kids)
	must("children watch", err)
	equal("children: none", len(children), 0)
	_, err = b.Set(kids, []byte("data"), -1)
	must("set the parent's data", err)
	_, err = b.Create(kids+"/k", nil, 0, open)
	must("create a child", err)
	// The client would also close a child watch on NodeDataChanged, so the
	// first event tells that the data change did not fire it.
	awaitEvent("child watch: NodeChildrenChanged on create", watch, zk.EventNodeChildrenChanged, kids, waitFor)
	children, _, watch, err = a.ChildrenW(kids)
	must("children watch again", err)
	equal("children: the new child", children, []string{"k"})
	must("delete a child", b.Delete(kids+"/k", -1))
	awaitEvent("child watch: NodeChildrenChanged on delete", watch, zk.EventNodeChildrenChanged, kids, waitFor)
	_, _, watch, err = a.ChildrenW(kids)
	must("children watch before delete", err)
	must("delete "+kids, b.Delete(kids, -1))
	awaitEvent("child watch: NodeDeleted", watch, zk.EventNodeDeleted, kids, waitFor)
}

// multi: all or nothing, with per-op results.
func multi(a *client, root string, open []zk.ACL) {
	m1, m2 := root+"/m1", root+"/m2"
	results, err := a.Multi(
		&zk.CreateRequest{Path: m1, Data: []byte("a"), Acl: open},
		&zk.SetDataRequest{Path: m1, Data: []byte("b"), Version: 0},
		&zk.CheckVersionRequest{Path: m1, Version: 1},
		&zk.CreateRequest{Path: m2, Acl: open},
		&zk.DeleteRequest{Path: m2, Version: 0},
	)
	must("multi", err)
	equal("multi: five results", len(results), 5)
	equal("multi: create's path", results[0].String, m1)
	expect("multi: set's stat", results[1].Stat != nil && results[1].Stat.Version == 1 &&
		results[1].Stat.Czxid == results[1].Stat.Mzxid, "%+v", results[1].Stat)
	equal("multi: create's path (2)", results[3].String, m2)
	for i, r := range results {
		expect(fmt.Sprintf("multi: op %d succeeded", i), r.Error == nil, "%v", r.Error)
	}
	data, _, err := a.Get(m1)
	must("get "+m1, err)
	equal("multi: applied", string(data), "b")

	// A failing op in the middle: nothing applied; the ops before it report
	// Ok, the ops after it RuntimeInconsistency (-2, ErrUnknown to this client).
	m3, m4 := root+"/m3", root+"/m4"
	results, err = a.Multi(
		&zk.CreateRequest{Path: m3, Acl: open},
		&zk.SetDataRequest{Path: root + "/nope", Data: []byte("x"), Version: -1},
		&zk.CreateRequest{Path: m4, Acl: open},
	)
	equal("failed multi: the first error", err, zk.ErrNoNode)
	errs := make([]error, len(results))
	for i, r := range results {
		errs[i] = r.Error
	}
	equal("failed multi: per-op errors", errs, []error{nil, zk.ErrNoNode, zk.ErrUnknown})
	for _, p := range []string{m3, m4} {
		found, _, err := a.Exists(p)
		must("exists "+p, err)
		equal("failed multi: nothing applied ("+p+")", found, false)
	}

	results, err = a.Multi(
		&zk.SetDataRequest{Path: m1, Data: []byte("c"), Version: -1},
		&zk.CheckVersionRequest{Path: m1, Version: 0},
	)
	equal("failed check: BadVersion", err, zk.ErrBadVersion)
	equal("failed check: two results", len(results), 2)
	equal("failed check: set rolled back", results[0].Error, nil)
	data, _, err = a.Get(m1)
	must("get "+m1, err)
	equal("failed check: data unchanged", string(data), "b")
}

// acls: digest identities, NoAuth for the sessions without them.
func acls(a, b, c *client, root string, existsNeedsRead bool) {
	secret := zk.DigestACL(zk.PermAll, "alice", "secret")
	node := root + "/acl"
	_, err := a.Create(node, []byte("private"), 0, secret)
	must("create with a digest ACL", err)
	data, _, err := a.Get(node)
	must("get with the digest", err)
	equal("acl: readable with the digest", string(data), "private")
	_, _, err = b.Get(node)
	equal("acl: NoAuth to get without it", err, zk.ErrNoAuth)
	_, err = b.Set(node, nil, -1)
	equal("acl: NoAuth to set without it", err, zk.ErrNoAuth)
	found, _, err := b.Exists(node)
	if existsNeedsRead {
		// A deliberate difference (README): ZooKeeper 3.9 checks READ, 3.8 does not.
		equal("acl: NoAuth to exists without it", err, zk.ErrNoAuth)
	} else {
		must("exists without the digest", err)
		equal("acl: exists needs no permission", found, true)
	}
	_, _, err = b.GetACL(node)
	equal("acl: NoAuth to getACL without it", err, zk.ErrNoAuth)
	must("addAuth another user", b.AddAuth("digest", []byte("alice:wrong")))
	_, _, err = b.Get(node)
	equal("acl: NoAuth with a wrong password", err, zk.ErrNoAuth)
	acl, _, err := a.GetACL(node)
	must("getACL", err)
	equal("acl: getACL", acl, secret)

	own := root + "/auth"
	_, err = a.Create(own, nil, 0, zk.AuthACL(zk.PermRead|zk.PermWrite))
	must("create with the auth scheme", err)
	acl, _, err = a.GetACL(own)
	must("getACL auth", err)
	// Without ADMIN on the node, getACL hides the digest's hash.
	equal("acl: auth expands to the session's digest, hash hidden",
		acl, []zk.ACL{{Perms: zk.PermRead | zk.PermWrite, Scheme: "digest", ID: "alice:x"}})
	_, err = c.Create(root+"/noauth", nil, 0, zk.AuthACL(zk.PermAll))
	equal("acl: InvalidACL for auth without identities", err, zk.ErrInvalidACL)

	_, err = a.SetACL(node, secret, 1)
	equal("setACL: BadVersion", err, zk.ErrBadVersion)
	stat, err := a.SetACL(node, zk.WorldACL(zk.PermRead), 0)
	must("setACL", err)
	equal("setACL: aversion 1", stat.Aversion, int32(1))
	_, err = a.SetACL(node, secret, 1)
	equal("setACL: NoAuth without ADMIN now", err, zk.ErrNoAuth)
	data, _, err = b.Get(node)
	must("get after setACL", err)
	equal("acl: world may read now", string(data), "private")
	_, err = a.Set(node, nil, -1)
	equal("acl: nobody may write now", err, zk.ErrNoAuth)
}

func restart(server, root string) {
	lines := make(chan string)
	go func() {
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	c := connect("connect", server, 30*time.Second)
	id, timeout := c.negotiated("connect")
	equal("connect: 30 s granted", timeout, int32(30000))
	open := zk.WorldACL(zk.PermAll)
	eph, watched, created := root+"/eph", root+"/watched", root+"/created"
	_, err := c.Create(eph, []byte("go"), zk.FlagEphemeral, open)
	must("create the ephemeral", err)
	_, _, dataWatch, err := c.GetW(watched)
	must("data watch", err)
	_, _, existsWatch, err := c.ExistsW(created)
	must("exists watch", err)
	_, _, childWatch, err := c.ChildrenW(root)
	must("child watch", err)
	fmt.Printf("READY %s\n", hex(id))

	select {
	case line := <-lines:
		equal("the test's line", line, "RESTARTED")
	case <-time.After(lineWait):
		fail("restart", "no RESTARTED line within %v", lineWait)
	}
	c.awaitState("reconnect", zk.StateDisconnected)
	c.awaitState("reconnect", zk.StateHasSession)
	again, timeout := c.negotiated("reconnect")
	equal("reconnect: the same session", again, id)
	equal("reconnect: SessionID()", c.SessionID(), id)
	equal("reconnect: 30 s granted", timeout, int32(30000))
	_, stat, err := c.Exists(eph)
	must("exists the ephemeral", err)
	equal("reconnect: the ephemeral is kept", stat.EphemeralOwner, id)
	fmt.Printf("RECONNECTED %s\n", hex(id))

	awaitEvent("data watch kept", dataWatch, zk.EventNodeDataChanged, watched, lineWait)
	awaitEvent("exists watch kept", existsWatch, zk.EventNodeCreated, created, lineWait)
	awaitEvent("child watch kept", childWatch, zk.EventNodeChildrenChanged, root, lineWait)
	data, _, err := c.Get(watched)
	must("get after the change", err)
	equal("the data set after the restart", string(data), "after")
	fmt.Println("DONE")
	c.Close()
}

func main() {
	mode := flag.String("mode", "matrix", "matrix or restart")
	server := flag.String("server", "", "HOST:PORT of the server")
	root := flag.String("root", "/go_smoke", "the znode to work under")
	tick := flag.Int("tick-ms", 2000, "the server's tickTime (matrix: the timeout bounds)")
	existsNeedsRead := flag.Bool("exists-needs-read", true,
		"matrix: exists answers NoAuth without READ (ZooKeeper 3.9, ferrokeeper), not the stat (3.8)")
	limit := flag.Duration("limit", 120*time.Second, "watchdog for the whole run")
	flag.Parse()
	if *server == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	time.AfterFunc(*limit, func() {
		fail("watchdog", "the run took longer than %v", *limit)
	})
	switch *mode {
	case "matrix":
		matrix(*server, *root, int32(*tick), *existsNeedsRead)
	case "restart":
		restart(*server, *root)
	default:
		fmt.Fprintf(os.Stderr, "unknown -mode %q\n", *mode)
		os.Exit(2)
	}
}
