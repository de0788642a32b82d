/* SPDX-License-Identifier: MIT */
/*
 * cellgate.pml: the assignment and apply protocol of cellgate, for spin.
 *
 * One config, two cells with one host each (or one cell with both hosts:
 * -DONE_CELL), three versions. docs/model.md maps every variable and
 * process below to the C code that implements it, says what is left out
 * and why, and gives the figures; model/check.sh runs every variant
 * (`make model`, `ctest -L model`).
 *
 * The story: version 1 is live and runs everywhere at generation 1; a
 * forward rollout 1 -> 2 is open (it pins both versions). Two controllers
 * (the rollout enactors of two replicas, or a hand `cellgate assign`) each
 * read the config's generation, decide to put version 2 or 3 on some
 * cells, wait an arbitrary time, and write with a compare-and-set on the
 * generation they read; a conflict is read again on the next tick. At an
 * arbitrary moment an operator rolls back: a new generation that returns
 * every cell to the live version, after which the rollout is rolled_back
 * and pins nothing. A retention cleaner deletes whatever the server's
 * records do not reference, including the versions a host may hold
 * without having reported them yet (a host that last reported a
 * generation older than its cell's and older than the newest generation
 * that carried the version). Agents follow their cell's signed desired
 * state over a network that loses, holds back, duplicates, reorders and
 * forges answers; they apply only newer generations, keep their
 * last-known-good when an apply fails, and report what they run, late.
 *
 * Variants (-D on the spin command line):
 *   LIVENESS     adds the LTL property rollback_reaches (pan -a -f)
 *   NO_PENDING_CHECK  mutation: retention does not wait for hosts that may
 *                hold a version unreported (the code before the I3
 *                finding was closed): spin must find a live host running
 *                a deleted version (docs/model.md, "The I3 finding")
 *   NO_CAS       mutation: the store writes expect + 1 without comparing
 *                the generation (the freshness check at the start only, as
 *                in the AWS incident): spin must find a violation
 *   AGENT_EQ     mutation: the agent also takes a generation equal to the
 *                one it holds: spin must find a violation
 *   NO_DEL_CHECK mutation: the assignment does not check that the version
 *                is still undeleted: spin must find a violation
 *   NO_REF_CHECK mutation: retention does not look at the cells'
 *                assignments: spin must find a violation
 *   NO_VERIFY    mutation: the agent does not verify the signature (run
 *                with NFORGE >= 1): spin must find a violation
 *   LIVE_CAN_FAIL  mutation for the LIVENESS run: applying the version the
 *                rollback returns to may fail: spin must find a fair cycle
 *   ONE_CELL     one cell with both hosts instead of two cells
 *   EMPTY_CELL   two cells, both hosts in cell 0: cell 1 has no host the
 *                server knows, so only its assignment keeps its version
 *                (with every cell's hosts known, the pending-host check
 *                alone would keep an assigned version: NO_REF_CHECK runs
 *                with EMPTY_CELL)
 *   NHOLD NLOSS NFORGE NCRASH NFAIL NTRY   the bounds (defaults below)
 *
 * The printf lines are for people: pan does not print them while it
 * searches; `spin -t` prints them when it replays a counterexample.
 */

/* ---- bounds ------------------------------------------------------------ */

#ifndef NHOLD
#define NHOLD 2 /* answers the network holds back and delivers later */
#endif
#ifndef NLOSS
#define NLOSS 1 /* answers the network loses */
#endif
#ifndef NFORGE
#define NFORGE 0 /* forged answers: a bad signature, or signed for another cell */
#endif
#ifndef NCRASH
#define NCRASH 0 /* hosts that die for good */
#endif
#ifndef NFAIL
#define NFAIL 1 /* applies that fail: check hook, contract, reload */
#endif
#ifndef NTRY
#define NTRY 2 /* writes a controller attempts: 1 + reads again after conflicts */
#endif

#define NHOST 2
#define LIVE 1       /* configs.live_version, what the rollback returns to */
#define RO_FROM 1    /* the open rollout's from_version */
#define RO_TO 2      /* and its to_version */
#define FORGED_GEN 9 /* a generation no server wrote (above every bound) */

#ifdef ONE_CELL
#define NCELL 1
#define CELL(h) 0
#elif defined(EMPTY_CELL)
#define NCELL 2
#define CELL(h) 0 /* both hosts in cell 0; cell 1 has none the server knows */
#else
#define NCELL 2
#define CELL(h) (h)
#endif

/* ---- the store (server/store/store.h) ----------------------------------- */

byte G = 1;           /* configs.generation */
byte cell_ver[NCELL]; /* assignments.version of each cell */
byte cell_gen[NCELL]; /* assignments.generation of each cell */
bool deleted[4];      /* versions.deleted_ms != 0, by version number */
byte host_row[NHOST]; /* host_versions: applied = lkg version, as last reported */
byte host_gen[NHOST]; /* host_versions.applied_generation, as last reported */
byte last_gen[4];     /* versions.last_assigned_gen: the newest generation that carried it */
bool rollout_open = 1; /* the rollout 1 -> 2 is in no terminal state */
bool rolled_back = 0;  /* it left running: rolling_back */
bool rb_landed = 0;    /* ghost: the rollback's generation is written */
byte rb_gen = 0;       /* ghost: which generation that is */

/* ---- the agents (lib/watch.c, agent/apply.c, agent/state.c) ------------- */

bool alive[NHOST];
byte lkg_ver[NHOST]; /* last-known-good version: what the host runs */
byte lkg_gen[NHOST]; /* its generation: the held generation */
byte ref_gen[NHOST]; /* rejected_generation: the newest refused for good */

/* ---- the network ---------------------------------------------------------- */

/* One answer per host that the network holds back (a delayed answer, a
 * copy a proxy or cache kept and replays, a forgery): generation 0 = none;
 * auth = signed by the server for this host's cell. */
byte held_g[NHOST];
byte held_v[NHOST];
bit held_auth[NHOST];

byte hold = NHOLD, loss = NLOSS, forge = NFORGE, crash = NCRASH, fails = NFAIL;

/* ---- properties ------------------------------------------------------------ */

#ifdef ONE_CELL
#define ASSIGNED(v) (cell_ver[0] == (v))
#else
#define ASSIGNED(v) (cell_ver[0] == (v) || cell_ver[1] == (v))
#endif

/* I3, server side: no cell's assignment names a deleted version. */
#define I3_ASSIGN (!deleted[cell_ver[0]] && !deleted[cell_ver[NCELL - 1]])
/* I3, host side, as design.md words it: no live host runs a deleted
 * version (and the apply asserts that no agent applies one). */
#define RUNS_UNDELETED(h) (!alive[h] || !deleted[lkg_ver[h]])
/* What the code kept before the I3 finding was closed, still checked (for
 * a live host RUNS_UNDELETED implies it; it covers a dead one too): a host
 * on a deleted version is superseded. */
#define SUPERSEDED(h) (!deleted[lkg_ver[h]] || cell_gen[CELL(h)] > lkg_gen[h])

#define I3_HOSTS (RUNS_UNDELETED(0) && RUNS_UNDELETED(1) && SUPERSEDED(0) && SUPERSEDED(1))
#define INVARIANT (I3_ASSIGN && I3_HOSTS)

/* Liveness: once the rollback's generation is written, every live host
 * eventually holds it (or a newer one). */
#define REACHED(h) (!alive[h] || lkg_gen[h] >= rb_gen)
#ifdef LIVENESS
ltl rollback_reaches { [] (rb_landed -> <> (REACHED(0) && REACHED(1))) }
#endif

/* ---- the store's assignment write ------------------------------------------ */

/* store_assign() / store_rollout_update() with cells: version v to the cells
 * of mask 'cells' at generation rg + 1, for a decision taken on generation
 * rg. The caller made the store's checks (CAS_OK); the assertions are I2. */
inline land(rg, v, cells)
{
    printf("store: writes version %d on cells %d at generation %d (decided on %d; it is %d)\n",
           v, cells, rg + 1, rg, G);
    /* I2: a decision taken on generation rg lands only while the
     * generation is still rg: a stale decision never lands ... */
    assert(G == rg);
    /* ... and the config's generation strictly increases ... */
    assert(rg + 1 > G);
    if
    :: cells & 1 ->
        /* ... and every cell's */
        assert(rg + 1 > cell_gen[0]);
        cell_ver[0] = v;
        cell_gen[0] = rg + 1
    :: else -> skip
    fi;
#ifndef ONE_CELL
    if
    :: cells & 2 ->
        assert(rg + 1 > cell_gen[1]);
        cell_ver[1] = v;
        cell_gen[1] = rg + 1
    :: else -> skip
    fi;
#endif
    /* the same transaction records that this generation carried v
     * (sq_assign_generation(), pg_assign_write(): once per write) */
    last_gen[v] = rg + 1;
    G = rg + 1
}

/* The checks inside the write's transaction (sq_assign_check(), and
 * pg_assign_check() under the config row's lock): the generation is still
 * the one the decision read, and the version is not deleted. */
#ifdef NO_CAS
#define GEN_OK(rg) true /* the freshness check was the read, at the start */
#else
#define GEN_OK(rg) (G == (rg))
#endif
#ifdef NO_DEL_CHECK
#define VER_OK(v) true
#else
#define VER_OK(v) (!deleted[v])
#endif
#define CAS_OK(rg, v) (GEN_OK(rg) && VER_OK(v))

/* ---- controllers: rollout enactors of two replicas, or a hand assign ------- */

proctype Controller()
{
    byte rg, v, cells, tries;
decide:
    atomic {
        if
        :: rolled_back -> goto done /* the rollout no longer runs: nothing to do */
        :: !rolled_back && !deleted[2] -> v = 2
        :: !rolled_back && !deleted[3] -> v = 3
        :: !rolled_back && deleted[2] && deleted[3] -> goto done
        fi;
        rg = G; /* config_generation(): read, then decided on */
#ifdef ONE_CELL
        cells = 1;
#else
        if
        :: cells = 1
        :: cells = 2
        :: cells = 3
        fi;
#endif
        printf("controller %d: reads generation %d, decides version %d for cells %d\n", _pid - 1, rg, v, cells)
    }
    /* here the controller may be delayed arbitrarily: a slow replica, a
     * paused process, a long tick (the DynamoDB enactor) */
    atomic {
        tries++;
        if
        :: CAS_OK(rg, v) -> land(rg, v, cells); goto done
        :: else ->
            /* CG_ERR_CONFLICT: nothing written */
            printf("controller %d: conflict (generation %d, not %d), nothing written\n", _pid - 1, G, rg);
            rg = 0; v = 0; cells = 0
        fi
    }
    /* the next tick reads again, at any later moment */
    if
    :: tries < NTRY -> goto decide
    :: else -> skip
    fi;
done:
    rg = 0; v = 0; cells = 0; tries = 0
}

/* ---- the operator's rollback: a new generation back to the live version ---- */

proctype Rollback()
{
    byte rg;
    /* at an arbitrary moment: ops_rollback -> controller_rollback ->
     * ctl_begin_rollback moves the rollout to rolling_back */
    atomic {
        rolled_back = 1;
        rg = G; /* the rolling-back tick reads the generation ... */
        printf("operator: rollback to version %d, rollout rolling_back; reads generation %d\n", LIVE, rg)
    }
    do
    :: atomic { /* ... and writes every cell's return with the CAS */
        if
        :: CAS_OK(rg, LIVE) ->
            land(rg, LIVE, (1 << NCELL) - 1);
            rb_gen = G;
            rb_landed = 1;
            /* no cell is left on to_version: the rollout ends rolled_back
             * and pins nothing (the next tick in the code; here at once,
             * which only lets deletes happen sooner) */
            rollout_open = 0;
            printf("rollback: landed at generation %d, rollout rolled_back\n", G);
            break
        :: else ->
            printf("rollback: conflict (generation %d, not %d), reads again\n", G, rg);
            rg = G /* the next tick reads again */
        fi
    }
    od;
    rg = 0
}

/* ---- retention: store_version_delete() ------------------------------------- */

#ifdef NO_REF_CHECK
#define CELLS_REF(v) false
#else
#define CELLS_REF(v) ASSIGNED(v)
#endif
/* A host that may hold a generation that carried v without having
 * reported it: its last report is older than the newest generation that
 * carried v and older than its cell's generation (SQL_REF_PENDING in
 * store_sqlite_versions.c). A host that reported its cell's generation
 * holds nothing newer: it applies only newer generations (I2). */
#ifdef NO_PENDING_CHECK
#define PENDING(h, v) false
#else
#define PENDING(h, v) (host_gen[h] < last_gen[v] && host_gen[h] < cell_gen[CELL(h)])
#endif
#define REFERENCED(v) ((v) == LIVE || CELLS_REF(v) || host_row[0] == (v) || \
                       host_row[1] == (v) || PENDING(0, v) || PENDING(1, v) || \
                       (rollout_open && ((v) == RO_FROM || (v) == RO_TO)))

proctype Cleaner()
{
    byte v;
end:
    do
    :: atomic {
        /* one transaction: version_referenced() and the soft delete */
        if
        :: !deleted[2] -> v = 2
        :: !deleted[3] -> v = 3
        fi;
        if
        :: !REFERENCED(v) ->
            deleted[v] = 1;
            printf("retention: version %d deleted (no cell, host or open rollout refers to it)\n", v)
        :: else -> skip /* CG_ERR_CONFLICT naming the reference */
        fi;
        v = 0
    }
    od
}

/* ---- the agent of host h: the watcher's process() and the apply ------------ */

/* The cache answers a long poll when the cell has a generation the agent
 * has neither applied nor refused; a poll whose ETag is current stays
 * parked, and renewals of a held generation only refresh its expiry. */
#define NEWS(h) (cell_gen[CELL(h)] != lkg_gen[h] && cell_gen[CELL(h)] != ref_gen[h])

#ifdef AGENT_EQ
#define NEWER(g, h) ((g) >= lkg_gen[h])
#else
#define NEWER(g, h) ((g) > lkg_gen[h]) /* else CG_STMT_NOT_NEWER */
#endif
#ifdef NO_VERIFY
#define VERIFIED(a) true
#else
#define VERIFIED(a) (a) /* cg_statement_verify(): key, signature, cell */
#endif
#ifdef LIVE_CAN_FAIL
#define MAY_FAIL(v) true
#else
#define MAY_FAIL(v) ((v) != LIVE) /* the live version ran on every host */
#endif

proctype Agent(byte h)
{
    byte g, v;
    bit a;
end:
    do
    :: atomic {
        alive[h] && (NEWS(h) || held_g[h] != 0) ->
        if
        :: NEWS(h) ->
            /* an answer, rendered from the cell's assignment now */
            g = cell_gen[CELL(h)];
            v = cell_ver[CELL(h)];
            a = 1
        :: held_g[h] != 0 ->
            /* the answer the network held back, whenever it was rendered */
            g = held_g[h];
            v = held_v[h];
            a = held_auth[h];
            held_g[h] = 0; held_v[h] = 0; held_auth[h] = 0
        fi;
        if
        :: !VERIFIED(a) -> skip /* verify_failed: tried again with the next answer */
        :: VERIFIED(a) && !NEWER(g, h) -> skip /* a renewal or a replay of what it holds */
        :: VERIFIED(a) && NEWER(g, h) && g <= ref_gen[h] -> skip /* refused before */
        :: VERIFIED(a) && NEWER(g, h) && g > ref_gen[h] && cell_ver[CELL(h)] != v ->
            skip /* GET /v1/blobs/SHA: 403, no longer assigned to the cell */
        :: VERIFIED(a) && NEWER(g, h) && g > ref_gen[h] && cell_ver[CELL(h)] == v ->
            printf("host %d: generation %d (version %d) verified and fetched; applying\n", h, g, v);
            goto end_apply /* verified and fetched: check, write, reload */
        fi;
        g = 0; v = 0; a = 0
    }
    od;
    /* the hooks run and the server may move on meanwhile; a host that dies
     * here stays here (a valid end state) */
end_apply:
    atomic {
        alive[h] ->
        if
        :: /* I2: an agent never applies a generation not newer than the
            * one it holds, and holds only generations the server wrote */
            assert(g > lkg_gen[h]);
            assert(g <= G);
            /* I3: an agent never applies a deleted version */
            assert(!deleted[v]);
            lkg_ver[h] = v;
            lkg_gen[h] = g;
            printf("host %d: runs version %d, generation %d\n", h, v, g)
        :: MAY_FAIL(v) && fails > 0 ->
            /* the check hook, the contract or the reload refused it: keep
             * the last-known-good and never take this generation again.
             * (The live version ran on every host: it does not fail.) */
            fails--;
            ref_gen[h] = g;
            printf("host %d: generation %d refused, keeps version %d\n", h, g, lkg_ver[h])
        fi;
        g = 0; v = 0; a = 0;
        goto end
    }
}

/* ---- reports: what a host runs reaches the server's host_versions late ----- */

/* A report is persisted when the version or the generation changed
 * (reports_ingest(): a newer generation of the same version too). */
proctype Reports()
{
end:
    do
    :: atomic {
        alive[0] && (lkg_ver[0] != host_row[0] || lkg_gen[0] != host_gen[0]) ->
        host_row[0] = lkg_ver[0];
        host_gen[0] = lkg_gen[0];
        printf("server: host 0 reported version %d, generation %d\n", host_row[0], host_gen[0])
    }
    :: atomic {
        alive[1] && (lkg_ver[1] != host_row[1] || lkg_gen[1] != host_gen[1]) ->
        host_row[1] = lkg_ver[1];
        host_gen[1] = lkg_gen[1];
        printf("server: host 1 reported version %d, generation %d\n", host_row[1], host_gen[1])
    }
    od
}

/* ---- the environment: held back, lost and forged answers, crashes ---------- */

proctype Env()
{
end:
    do
    :: atomic { /* host 0's answer, rendered now, is held back */
        hold > 0 && held_g[0] == 0 && alive[0] ->
        held_g[0] = cell_gen[CELL(0)]; held_v[0] = cell_ver[CELL(0)]; held_auth[0] = 1;
        printf("network: holds back an answer to host 0 (generation %d)\n", held_g[0]);
        hold--
    }
    :: atomic {
        hold > 0 && held_g[1] == 0 && alive[1] ->
        held_g[1] = cell_gen[CELL(1)]; held_v[1] = cell_ver[CELL(1)]; held_auth[1] = 1;
        printf("network: holds back an answer to host 1 (generation %d)\n", held_g[1]);
        hold--
    }
    :: atomic { /* an answer is lost */
        loss > 0 && held_g[0] != 0 -> held_g[0] = 0; held_v[0] = 0; held_auth[0] = 0; loss--
    }
    :: atomic {
        loss > 0 && held_g[1] != 0 -> held_g[1] = 0; held_v[1] = 0; held_auth[1] = 0; loss--
    }
    :: atomic { /* a forged answer: a generation no server wrote, naming the
                 * bytes the cell runs (a freeze attack if it were taken) */
        forge > 0 && held_g[0] == 0 -> held_g[0] = FORGED_GEN; held_v[0] = cell_ver[CELL(0)]; forge--;
        printf("network: a forged answer to host 0\n")
    }
    :: atomic {
        forge > 0 && held_g[1] == 0 -> held_g[1] = FORGED_GEN; held_v[1] = cell_ver[CELL(1)]; forge--;
        printf("network: a forged answer to host 1\n")
    }
    :: atomic { /* a host dies for good */
        crash > 0 && alive[0] -> alive[0] = 0; crash--; printf("host 0 dies\n")
    }
    :: atomic {
        crash > 0 && alive[1] -> alive[1] = 0; crash--; printf("host 1 dies\n")
    }
    od
}

/* ---- the global invariants (I3) -------------------------------------------- */

proctype Monitor()
{
end:
    /* one assertion per part, the server's first: a counterexample names
     * the part it breaks (model/check.sh checks which) */
    atomic { !INVARIANT -> assert(I3_ASSIGN); assert(I3_HOSTS) }
}

init
{
    byte c, h;
    atomic {
        for (c : 0 .. NCELL - 1) {
            cell_ver[c] = LIVE;
            cell_gen[c] = 1
        }
        for (h : 0 .. NHOST - 1) {
            alive[h] = 1;
            lkg_ver[h] = LIVE;
            lkg_gen[h] = 1;
            host_row[h] = LIVE;
            host_gen[h] = 1
        }
        last_gen[LIVE] = 1;
        c = 0;
        h = 0;
        run Monitor();
        run Controller();
        run Controller();
        run Rollback();
        run Cleaner();
        run Agent(0);
        run Agent(1);
        run Reports();
        run Env()
    }
}
