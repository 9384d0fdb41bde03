using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;

namespace Serverless.Core.Metering;

/// <summary>Versioned prices per model. Setting a price adds a version; nothing already recorded changes.</summary>
public sealed class PriceBook(IDbContextFactory<ServerlessDbContext> databases, TimeProvider time)
{
    public const long MaxMicroUsdPerMillion = 1_000_000_000_000;

    public async Task<Price> SetAsync(string model, long inputMicroUsdPerMillion, long outputMicroUsdPerMillion, long batchDiscountBasisPoints, DateTimeOffset? effectiveFrom, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (inputMicroUsdPerMillion is < 0 or > MaxMicroUsdPerMillion || outputMicroUsdPerMillion is < 0 or > MaxMicroUsdPerMillion)
        {
            throw new ArgumentOutOfRangeException(nameof(inputMicroUsdPerMillion), "Prices must be between 0 and 1e12 micro-USD per million tokens.");
        }

        if (batchDiscountBasisPoints is < 0 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(batchDiscountBasisPoints), "The batch discount must be between 0 and 10000 basis points.");
        }

        var now = time.GetUtcNow();
        var price = new Price
        {
            Model = model,
            InputMicroUsdPerMillion = inputMicroUsdPerMillion,
            OutputMicroUsdPerMillion = outputMicroUsdPerMillion,
            BatchDiscountBasisPoints = batchDiscountBasisPoints,
            EffectiveFrom = effectiveFrom ?? now,
            CreatedAt = now,
        };
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        db.Add(price);
        await db.SaveChangesAsync(cancellationToken);
        return price;
    }

    public async Task<IReadOnlyList<Price>> ListAsync(string? model, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Set<Price>().AsNoTracking();
        if (model is not null)
        {
            query = query.Where(p => p.Model == model);
        }

        return await query.OrderBy(p => p.Model).ThenBy(p => p.Id).ToListAsync(cancellationToken);
    }

    /// <summary>The price in effect now for a model, if any.</summary>
    public async Task<Price?> CurrentAsync(string model, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<Price>().AsNoTracking()
            .Where(p => p.Model == model && p.EffectiveFrom <= now)
            .OrderByDescending(p => p.EffectiveFrom).ThenByDescending(p => p.Id)
            .FirstOrDefaultAsync(cancellationToken);
    }
}
