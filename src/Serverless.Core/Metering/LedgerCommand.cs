using System.Data;
using System.Data.Common;

namespace Serverless.Core.Metering;

/// <summary>
/// One operation of the ledger's write path. Commands run inside a shared transaction (group commit), so
/// they must not throw for business outcomes (a budget that does not fit, a duplicate): they record the
/// outcome and let the batch commit. An exception fails the whole batch.
/// </summary>
internal abstract class LedgerCommand
{
    public abstract void Execute(LedgerBatch batch);

    public abstract void Complete();

    public abstract void Fail(Exception exception);
}

internal abstract class LedgerCommand<TResult> : LedgerCommand
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Completion => _completion.Task;

    protected TResult? Result { get; set; }

    public override void Complete() => _completion.TrySetResult(Result!);

    public override void Fail(Exception exception) => _completion.TrySetException(exception);
}

/// <summary>
/// The open transaction a batch of commands runs in. Commands are prepared once per connection and reused by
/// every batch on it, so the hot path does not parse SQL per request.
/// </summary>
internal sealed class LedgerBatch(DbConnection connection, DbTransaction transaction, Dictionary<string, DbCommand> commands, int commandTimeoutSeconds = 30)
{
    private readonly Dictionary<string, DbCommand> _commands = commands;
    private int _savepoints;

    public DbTransaction Transaction => transaction;

    public DbCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            command.CommandTimeout = commandTimeoutSeconds;
            _commands[sql] = command;
        }

        command.Transaction = transaction;

        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            if (value is not null)
            {
                // A typed null would be wrong for some column on PostgreSQL; untyped, the server infers it.
                parameter.DbType = value switch
                {
                    string => DbType.String,
                    int => DbType.Int32,
                    bool => DbType.Boolean,
                    _ => DbType.Int64,
                };
            }
            command.Parameters.Add(parameter);
        }

        return command;
    }

    public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) =>
        Command(sql, parameters).ExecuteNonQuery();

    public string Savepoint()
    {
        string name = "sp" + _savepoints++;
        transaction.Save(name);
        return name;
    }

    public void RollbackTo(string savepoint) => transaction.Rollback(savepoint);

    public void Release(string savepoint) => transaction.Release(savepoint);
}
