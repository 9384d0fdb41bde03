using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Serverless.Core.Data;

/// <summary>
/// Stores every <see cref="DateTimeOffset"/> as a 64-bit count of milliseconds since the Unix epoch (UTC).
/// </summary>
/// <remarks>
/// SQLite keeps DateTimeOffset as TEXT, and EF Core refuses to translate comparisons or ORDER BY on it.
/// An integer column sorts and compares the same way in SQLite (INTEGER) and PostgreSQL (bigint), so
/// queries such as "expires before now" translate on both. The cost: sub-millisecond precision and the
/// original offset are dropped; values come back as UTC.
/// </remarks>
internal sealed class UnixMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
    value => value.ToUnixTimeMilliseconds(),
    value => DateTimeOffset.FromUnixTimeMilliseconds(value));
