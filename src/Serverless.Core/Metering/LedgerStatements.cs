using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Serverless.Core.Metering;

/// <summary>
/// The SQLite writer's hot statements as SQLite's own prepared statements, bound by position and stepped directly.
/// Through ADO.NET each execution also looked every parameter up by name, made a data reader and reset the statement
/// through it: a few microseconds a statement, at about ten statements a record a third of the writer's time.
/// Runs on the writer's connection, inside its transaction; the statements are finalized with the connection.
/// </summary>
internal sealed class LedgerStatements : IDisposable
{
    private readonly Dictionary<string, Prepared> _prepared = new(StringComparer.Ordinal);

    /// <summary>Whether every value is of a type <see cref="Run"/> binds (others go through ADO.NET).</summary>
    public static bool CanBind(ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        foreach (var (_, value) in parameters)
        {
            if (value is not (null or string or long or int or bool))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Runs a statement to its end: the rows it changed, or with <paramref name="scalar"/> its first value.</summary>
    public long Run(SqliteConnection connection, string sql, ReadOnlySpan<(string Name, object? Value)> parameters, bool scalar = false)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The ledger connection is not open.");
        var prepared = Prepare(db, sql, parameters);
        var statement = prepared.Statement;
        try
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                if (!ReferenceEquals(prepared.Names[i], parameters[i].Name) && prepared.Names[i] != parameters[i].Name)
                {
                    throw new InvalidOperationException($"Parameters of a ledger statement must come in the same order every time: {parameters[i].Name}");
                }

                Check(db, Bind(statement, prepared.Indexes[i], parameters[i].Value));
            }

            long result = 0;
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                if (scalar && result == 0)
                {
                    result = raw.sqlite3_column_int64(statement, 0);
                }
            }

            Check(db, rc == raw.SQLITE_DONE ? raw.SQLITE_OK : rc);
            return scalar ? result : raw.sqlite3_changes(db);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    public void Dispose()
    {
        foreach (var prepared in _prepared.Values)
        {
            prepared.Statement.Dispose();
        }

        _prepared.Clear();
    }

    private Prepared Prepare(sqlite3 db, string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (_prepared.TryGetValue(sql, out var prepared))
        {
            return prepared;
        }

        Check(db, raw.sqlite3_prepare_v2(db, sql, out sqlite3_stmt statement));
        var names = new string[parameters.Length];
        var indexes = new int[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            names[i] = parameters[i].Name;
            indexes[i] = raw.sqlite3_bind_parameter_index(statement, names[i]);
            if (indexes[i] == 0)
            {
                statement.Dispose();
                throw new InvalidOperationException($"A ledger statement has no parameter {names[i]}.");
            }
        }

        // Every parameter bound on every run, so nothing is left over from the previous one.
        if (raw.sqlite3_bind_parameter_count(statement) != parameters.Length)
        {
            statement.Dispose();
            throw new InvalidOperationException("A ledger statement was given fewer parameters than its SQL has.");
        }

        prepared = new Prepared(statement, names, indexes);
        _prepared[sql] = prepared;
        return prepared;
    }

    private static int Bind(sqlite3_stmt statement, int index, object? value) => value switch
    {
        null => raw.sqlite3_bind_null(statement, index),
        string text => raw.sqlite3_bind_text(statement, index, text),
        long number => raw.sqlite3_bind_int64(statement, index, number),
        int number => raw.sqlite3_bind_int64(statement, index, number),
        bool flag => raw.sqlite3_bind_int64(statement, index, flag ? 1 : 0),
        _ => throw new InvalidOperationException($"A ledger statement cannot bind a {value.GetType().Name}."),
    };

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private sealed record Prepared(sqlite3_stmt Statement, string[] Names, int[] Indexes);
}
