// Patches applied to FerretDB v1.24.2's source before it is built (see ../ferretdb.sh).
// Each patch names the defect it mends; a patch whose anchor text is gone fails the build loudly.
const fs = require('fs');
const path = require('path');
const root = process.argv[2];

function replaceOnce(file, from, to, why) {
  const f = path.join(root, file);
  const s = fs.readFileSync(f, 'utf8');
  if (!s.includes(from)) {
    console.error(`patch "${why}" no longer applies to ${file}`);
    process.exit(1);
  }
  fs.writeFileSync(f, s.replace(from, to));
}

// 1. The SQLite backend creates the _id index on the expression `_ferretdb_sjson->"_id"` but filters
//    by `_ferretdb_sjson->'$._id'`: the same value through a different expression, so SQLite never
//    uses the index and every update or delete by _id scans the table (3 ms at 10 documents, 10 ms at
//    3,000). Filtering by the indexed expression makes them index lookups.
replaceOnce(
  'internal/backends/sqlite/metadata/metadata.go',
  `IDColumn = DefaultColumn + "->'$._id'"`,
  `IDColumn = DefaultColumn + "->\\"_id\\""`,
  '_id index',
);

// 2. update, findAndModify and delete read the matching documents, apply the operators in Go, then
//    write the documents back, with nothing serialising two such commands on one document: of 50
//    concurrent {$inc: {n: 1}} only about 10 survive, and a conditional update (compare-and-set on a
//    version) can match a document another command is rewriting. MongoDB makes each single-document
//    write atomic. This restores that: a command whose statements each name one document by _id
//    holds those documents' locks (stripes of 4,096, taken in order) and the collection's lock
//    shared; any other such command holds the collection's lock exclusively. Commands on different
//    documents still run side by side.
fs.writeFileSync(
  path.join(root, 'internal/handler/omnimall_write_lock.go'),
  `package handler

// Patch added by omnimall (see deploy/local/ferretdb/patch.js): per-document atomicity of writes.

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/FerretDB/FerretDB/internal/types"
)

var (
	collectionLocks sync.Map // "db.collection" -> *sync.RWMutex
	documentLocks   [4096]sync.Mutex
)

// idOf returns the _id a filter names by plain equality, if it does.
func idOf(filter *types.Document) (string, bool) {
	if filter == nil {
		return "", false
	}

	v, err := filter.Get("_id")
	if err != nil {
		return "", false
	}

	switch v := v.(type) {
	case string:
		return "s" + v, true
	case types.ObjectID:
		return fmt.Sprintf("o%x", v[:]), true
	case int32, int64:
		return fmt.Sprintf("i%d", v), true
	default:
		return "", false
	}
}

// lockWrites serialises the read-modify-write commands touching the same documents and returns the
// unlock. filters are the command's statements; a statement not naming one _id locks the collection.
func lockWrites(db, collection string, filters ...*types.Document) func() {
	m, _ := collectionLocks.LoadOrStore(db+"."+collection, new(sync.RWMutex))
	rw := m.(*sync.RWMutex)

	// Every statement names its document by _id: hold those documents' stripes, taken in ascending
	// order (so two commands never wait for each other), and the collection's lock shared.
	stripes := make([]int, 0, len(filters))
	for _, f := range filters {
		id, ok := idOf(f)
		if !ok {
			stripes = nil
			break
		}

		h := fnv.New32a()
		h.Write([]byte(db + "." + collection + "." + id))
		stripes = append(stripes, int(h.Sum32()%uint32(len(documentLocks))))
	}

	if len(stripes) > 0 {
		slices.Sort(stripes)
		stripes = slices.Compact(stripes)

		rw.RLock()
		for _, s := range stripes {
			documentLocks[s].Lock()
		}

		return func() {
			for i := len(stripes) - 1; i >= 0; i-- {
				documentLocks[stripes[i]].Unlock()
			}
			rw.RUnlock()
		}
	}

	rw.Lock()

	return rw.Unlock
}

func updateFilters(us []common.Update) []*types.Document {
	out := make([]*types.Document, len(us))
	for i, u := range us {
		out[i] = u.Filter
	}

	return out
}

func deleteFilters(ds []common.Delete) []*types.Document {
	out := make([]*types.Document, len(ds))
	for i, d := range ds {
		out[i] = d.Filter
	}

	return out
}
`.replace(
    '"github.com/FerretDB/FerretDB/internal/types"',
    '"github.com/FerretDB/FerretDB/internal/handler/common"\n\t"github.com/FerretDB/FerretDB/internal/types"',
  ),
);
for (const [file, getter, ret, filters] of [
  ['internal/handler/msg_update.go', 'GetUpdateParams', 'lazyerrors.Error(err)', 'updateFilters(params.Updates)...'],
  ['internal/handler/msg_findandmodify.go', 'GetFindAndModifyParams', 'err', 'params.Query'],
  ['internal/handler/msg_delete.go', 'GetDeleteParams', 'lazyerrors.Error(err)', 'deleteFilters(params.Deletes)...'],
]) {
  const anchor = `params, err := common.${getter}(document, h.L)\n\tif err != nil {\n\t\treturn nil, ${ret}\n\t}\n`;
  replaceOnce(file, anchor, `${anchor}\n\tdefer lockWrites(params.DB, params.Collection, ${filters})()\n`, `atomic writes (${file})`);
}

// 3. A query is pushed down to SQLite by _id only when the filter has no other key, so
//    `{_id, writeRev}` (the outbox's compare-and-set) and `{_id, appliedEvents: {$ne}}` (effect-once)
//    read and decode the whole collection on every write. Every handler filters the returned
//    documents again by the whole filter, so narrowing by _id whenever the filter names one exactly
//    is safe (FerretDB's PostgreSQL backend already pushes down several keys that way).
replaceOnce(
  'internal/backends/sqlite/collection.go',
  'if params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")',
  'if params.Filter != nil {\n\t\tv, _ := params.Filter.Get("_id")',
  '_id pushdown with other keys',
);

// 4. delete reads and decodes every document its filter selects before deleting them by _id, even
//    when the filter is nothing but an _id: a delete of one large document (a catalogue journal
//    entry holding thousands of staged events) cost as much as reading it. A filter that is exactly
//    one string or ObjectID _id selects that document and nothing else, so it is deleted by _id
//    directly, without reading it.
replaceOnce(
  'internal/handler/msg_delete.go',
  'func (h *Handler) execDelete(ctx context.Context, c backends.Collection, p *common.Delete) (int32, error) {\n',
  `func (h *Handler) execDelete(ctx context.Context, c backends.Collection, p *common.Delete) (int32, error) {
	if p.Filter != nil && p.Filter.Len() == 1 {
		v, _ := p.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			d, err := c.DeleteAll(ctx, &backends.DeleteAllParams{IDs: []any{v}})
			if err != nil {
				return 0, lazyerrors.Error(err)
			}

			return d.Deleted, nil
		}
	}

`,
  'delete by _id without reading',
);

// 5. `{_id: {$in: [...]}}` (a batch read of known documents) is not pushed down either, so it reads
//    and decodes the whole collection. A filter whose _id is `$in` a list of strings or ObjectIDs now
//    narrows the query to those _ids (an index lookup each); as with patch 3, every handler filters
//    the returned documents again by the whole filter.
replaceOnce(
  'internal/backends/sqlite/collection.go',
  `			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}`,
  `			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			if in, _ := v.(*types.Document).Get("$in"); v.(*types.Document).Len() == 1 && in != nil {
				if list, ok := in.(*types.Array); ok && list.Len() > 0 && list.Len() <= 1000 {
					marks := make([]string, 0, list.Len())
					values := make([]any, 0, list.Len())
					for i := 0; i < list.Len(); i++ {
						id, _ := list.Get(i)
						switch id.(type) {
						case string, types.ObjectID:
							marks = append(marks, "?")
							values = append(values, string(must.NotFail(sjson.MarshalSingleValue(id))))
						}
					}
					if len(marks) == list.Len() {
						whereClause = fmt.Sprintf(\` WHERE %s IN (%s)\`, metadata.IDColumn, strings.Join(marks, ", "))
						args = values
					}
				}
			}
		}`,
  '_id $in pushdown',
);

// 6. Every iterator, cursor and connection is registered with resource.Track, which records its
//    creation stack in a pprof profile and sets a finalizer that panics if it is never untracked: a
//    leak detector for FerretDB's own development. Capturing those stacks cost about 12% of the
//    server's CPU under our event load (profiled). Tracking is switched off; nothing else uses it.
replaceOnce(
  'internal/util/resource/resource.go',
  'func Track(obj any, token *Token) {\n',
  'func Track(obj any, token *Token) {\n\tif !trackResources {\n\t\treturn\n\t}\n\n',
  'resource tracking off (Track)',
);
replaceOnce(
  'internal/util/resource/resource.go',
  'func Untrack(obj any, token *Token) {\n',
  '// trackResources is false in this build (omnimall patch 6).\nconst trackResources = false\n\nfunc Untrack(obj any, token *Token) {\n\tif !trackResources {\n\t\treturn\n\t}\n\n',
  'resource tracking off (Untrack)',
);

// 7. Writers of one SQLite database wait for its write lock in SQLite's busy handler, which sleeps
//    1, 2, 5, 10, 15, 20, 25... ms between tries and is not woken when the lock frees. Under a few
//    concurrent writers that sleep, not work, set the latency: cart writes at 150/s waited 120 ms at
//    the median with the CPU 40% idle. A mutex per database in front of every write (transactions
//    and plain statements) hands the lock over at once, first come first served, and SQLite's busy
//    handler is left for other processes. Reads do not take it (WAL readers never block). So that
//    the mutex covers SQLite's work only, updates and inserts encode their documents before taking it.
replaceOnce(
  'internal/util/fsql/db.go',
  '\tsqlDB     *sql.DB\n',
  '\tsqlDB     *sql.DB\n\twriteMu   sync.Mutex // omnimall patch 7: one writer at a time\n',
  'writer mutex (field)',
);
replaceOnce('internal/util/fsql/db.go', '\t"log/slog"\n', '\t"log/slog"\n\t"sync"\n', 'writer mutex (import)');
replaceOnce(
  'internal/util/fsql/db.go',
  'func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n',
  'func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n\n',
  'writer mutex (ExecContext)',
);
replaceOnce(
  'internal/util/fsql/db.go',
  'func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n',
  'func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n\n',
  'writer mutex (InTransaction)',
);
replaceOnce(
  'internal/backends/sqlite/collection.go',
  `	err := db.InTransaction(ctx, func(tx *fsql.Tx) error {
		for _, doc := range params.Docs {
			b, err := sjson.Marshal(doc)
			if err != nil {
				return lazyerrors.Error(err)
			}

			id, _ := doc.Get("_id")
			must.NotBeZero(id)

			arg := string(must.NotFail(sjson.MarshalSingleValue(id)))

			r, err := tx.ExecContext(ctx, q, string(b), arg)`,
  `	bodies := make([]string, len(params.Docs))
	ids := make([]string, len(params.Docs))

	for i, doc := range params.Docs {
		b, err := sjson.Marshal(doc)
		if err != nil {
			return nil, lazyerrors.Error(err)
		}

		id, _ := doc.Get("_id")
		must.NotBeZero(id)

		bodies[i] = string(b)
		ids[i] = string(must.NotFail(sjson.MarshalSingleValue(id)))
	}

	err := db.InTransaction(ctx, func(tx *fsql.Tx) error {
		for i := range params.Docs {
			r, err := tx.ExecContext(ctx, q, bodies[i], ids[i])`,
  'writer mutex (encode updates outside it)',
);
replaceOnce(
  'internal/backends/sqlite/collection.go',
  `	err := db.InTransaction(ctx, func(tx *fsql.Tx) error {
		batchSize := c.r.BatchSize
		if batchSize < 1 {
			panic("batch-size should be greater or equal to 1")
		}

		var batch []*types.Document
		docs := params.Docs

		for len(docs) > 0 {
			i := min(batchSize, len(docs))
			batch, docs = docs[:i], docs[i:]

			q, args, err := prepareInsertStatement(meta.TableName, meta.Capped(), batch)
			if err != nil {
				return lazyerrors.Error(err)
			}

			if _, err = tx.ExecContext(ctx, q, args...); err != nil {`,
  `	batchSize := c.r.BatchSize
	if batchSize < 1 {
		panic("batch-size should be greater or equal to 1")
	}

	type statement struct {
		q    string
		args []any
	}

	var statements []statement

	for docs := params.Docs; len(docs) > 0; {
		var batch []*types.Document

		i := min(batchSize, len(docs))
		batch, docs = docs[:i], docs[i:]

		q, args, err := prepareInsertStatement(meta.TableName, meta.Capped(), batch)
		if err != nil {
			return nil, lazyerrors.Error(err)
		}

		statements = append(statements, statement{q, args})
	}

	err := db.InTransaction(ctx, func(tx *fsql.Tx) error {
		for _, st := range statements {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {`,
  'writer mutex (encode inserts outside it)',
);

// 8. SQLite checkpoints its write-ahead log after every commit once the log holds 1,000 pages, and a
//    checkpoint first sorts every page of the log. Under a steady mix of reads and writes some reader
//    always holds an older snapshot, so a checkpoint never completes, the log is never restarted and
//    grows for the whole run (160 MB in 25 s of the kit benchmark): each commit sorted all of it, 15%
//    of the server's CPU, inside the commit and so under the writer mutex (patch 7). Automatic
//    checkpoints are off (ferretdb.sh sets wal_autocheckpoint=0); instead, every 1,000th write of a
//    database checkpoints it in RESTART mode, waiting at most 20 ms for readers of the old log to
//    finish, so that the log starts over. If they do not finish in time the pass copies what it can
//    and a later one tries again: in a kit benchmark run about half the passes started the log over,
//    and it stayed under 8,400 pages where it had grown to 60,000. The checkpoints' share of the
//    server's CPU went from 15% to below 1% (pprof).
replaceOnce(
  'internal/util/fsql/db.go',
  '\twriteMu   sync.Mutex // omnimall patch 7: one writer at a time\n',
  '\twriteMu   sync.Mutex // omnimall patch 7: one writer at a time\n\twrites    int        // omnimall patch 8: writes since the last checkpoint\n',
  'checkpoint every 1,000 writes (field)',
);
replaceOnce(
  'internal/util/fsql/db.go',
  'func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n',
  `// checkpointSometimes runs with writeMu held, after a write (omnimall patch 8).
func (db *DB) checkpointSometimes(ctx context.Context) {
	db.writes++
	if db.writes < 1000 {
		return
	}

	db.writes = 0

	conn, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()

	if _, err = conn.ExecContext(ctx, "PRAGMA busy_timeout = 20"); err != nil {
		return
	}

	_, _ = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(RESTART)")
	_, _ = conn.ExecContext(ctx, "PRAGMA busy_timeout = 10000")
}

func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	defer db.checkpointSometimes(ctx)
`,
  'checkpoint every 1,000 writes (ExecContext)',
);
replaceOnce(
  'internal/util/fsql/db.go',
  '\tif err = tx.Commit(); err != nil {\n\t\terr = lazyerrors.Error(err)\n\t\treturn\n\t}\n\n\tdone = true\n',
  '\tif err = tx.Commit(); err != nil {\n\t\terr = lazyerrors.Error(err)\n\t\treturn\n\t}\n\n\tdone = true\n\n\tdb.checkpointSometimes(ctx)\n',
  'checkpoint every 1,000 writes (InTransaction)',
);

// 9. Each SQL query built two debug log lines (a formatted copy of the SQL, and a logger carrying its
//    arguments) even with debug logging off; they are now built only when it is on.
let guarded = 0;
for (const file of ['internal/util/fsql/db.go', 'internal/util/fsql/tx.go']) {
  for (const who of ['db', 'tx']) {
    for (const dir of ['>>>', '<<<']) {
      const line = `\t${who}.l.With(fields...).DebugContext(ctx, fmt.Sprintf("${dir} %s", query))\n`;
      const f = path.join(root, file);
      const s = fs.readFileSync(f, 'utf8');
      if (!s.includes(line)) continue;
      fs.writeFileSync(f, s.split(line).join(`\tif ${who}.l.Enabled(ctx, slog.LevelDebug) {\n\t${line}\t}\n`));
      guarded++;
    }
  }
}
if (guarded < 4) {
  console.error('patch "debug lines only when logged" no longer applies to internal/util/fsql');
  process.exit(1);
}

// 10. A multi-statement update ignored `ordered` and failed as a whole at the first statement that
//     failed: a duplicate key in statement 3 of 5 came back as a write error at index 0, statements 4
//     and 5 never ran, and the reply counted nothing of what statements 1-2 did. Upserted ids were
//     numbered by their position among the upserts, not by their statement. A client batching
//     independent updates (see packages/service-kit/src/events/write-batcher.ts) cannot tell what
//     happened to each. Now each statement runs on its own, its duplicate key becomes a write error
//     carrying its own index, later statements still run unless the command is `ordered` (a flag the
//     stock parser drops, read here), and `upserted` carries statement indexes, as MongoDB replies.
//     Other errors still fail the command, as before.
fs.writeFileSync(
  path.join(root, 'internal/handler/omnimall_update_statements.go'),
  `package handler

// Patch added by omnimall (see deploy/local/ferretdb/patch.js): per-statement results of update.

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/handler/common"
	"github.com/FerretDB/FerretDB/internal/handler/handlererrors"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// orderedOf reads the command's ordered flag (default true), which common.UpdateParams ignores.
func orderedOf(document *types.Document) bool {
	if v, err := document.Get("ordered"); err == nil {
		if b, ok := v.(bool); ok {
			return b
		}
	}

	return true
}

// updateStatements runs each statement as an update of its own and gathers the results.
func (h *Handler) updateStatements(ctx context.Context, params *common.UpdateParams, ordered bool) (int32, int32, *types.Array, []*mongo.WriteError, error) {
	var matched, modified int32
	upserted := types.MakeArray(0)
	var writeErrors []*mongo.WriteError

	for i, u := range params.Updates {
		one := *params
		one.Updates = []common.Update{u}

		m, mod, up, err := h.updateDocument(ctx, &one)
		if err != nil {
			var be *backends.Error
			if !errors.As(err, &be) || be.Code() != backends.ErrorCodeInsertDuplicateID {
				return 0, 0, nil, nil, err
			}

			writeErrors = append(writeErrors, &mongo.WriteError{
				Index:   i,
				Code:    int(handlererrors.ErrDuplicateKeyInsert),
				Message: fmt.Sprintf("E11000 duplicate key error collection: %s.%s", params.DB, params.Collection),
			})

			if ordered {
				break
			}

			continue
		}

		matched += m
		modified += mod

		for j := 0; j < up.Len(); j++ {
			d := must.NotFail(up.Get(j)).(*types.Document)
			d.Set("index", int32(i))
			upserted.Append(d)
		}
	}

	return matched, modified, upserted, writeErrors, nil
}
`,
);
replaceOnce(
  'internal/handler/msg_update.go',
  '\tmatched, modified, upserted, err := h.updateDocument(connCtx, params)\n',
  '\tmatched, modified, upserted, writeErrors, err := h.updateStatements(connCtx, params, orderedOf(document))\n',
  'per-statement update results (call)',
);
replaceOnce(
  'internal/handler/msg_update.go',
  '\tres.Set("nModified", modified)\n',
  '\tres.Set("nModified", modified)\n\n\tif len(writeErrors) > 0 {\n\t\tarray := types.MakeArray(len(writeErrors))\n\t\tfor _, we := range writeErrors {\n\t\t\tarray.Append(WriteErrorDocument(we))\n\t\t}\n\n\t\tres.Set("writeErrors", array)\n\t}\n',
  'per-statement update results (reply)',
);
