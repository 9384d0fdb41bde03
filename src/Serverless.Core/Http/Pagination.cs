using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>The <c>limit</c> query parameter of OpenAI's list routes.</summary>
public static class Pagination
{
    public static int Limit(IQueryCollection query, int defaultLimit, int maxLimit)
    {
        ArgumentNullException.ThrowIfNull(query);
        string? text = query["limit"].FirstOrDefault();
        if (string.IsNullOrEmpty(text))
        {
            return defaultLimit;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int limit) || limit < 1 || limit > maxLimit)
        {
            throw ApiException.InvalidValue("limit", string.Create(CultureInfo.InvariantCulture, $"'limit' must be an integer from 1 to {maxLimit}; got '{text}'."));
        }

        return limit;
    }
}
