using System.Text;

namespace Serverless.Core.Keys;

/// <summary>
/// A new key and its record. <see cref="Key"/> exists only here, once: it is not stored and cannot be
/// shown again. ToString leaves it out so the object can't leak it into a log by accident.
/// </summary>
public sealed record CreatedApiKey(string Key, ApiKeyInfo Info)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Key = ").Append(Info.MaskedKey).Append(", Info = ").Append(Info);
        return true;
    }
}
