using System.Text;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Keys;

internal sealed class KeyOptionsValidator : IValidateOptions<KeyOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (string.IsNullOrEmpty(options.HashSecret))
        {
            errors.Add("Keys:HashSecret is required (at least 32 bytes, e.g. from `openssl rand -base64 48`).");
        }
        else if (SecretSetting.Problem("Keys:HashSecret", options.HashSecret) is { } problem)
        {
            errors.Add(problem);
        }
        else if (Encoding.UTF8.GetByteCount(options.HashSecret) < KeyOptions.MinHashSecretBytes)
        {
            errors.Add($"Keys:HashSecret must be at least {KeyOptions.MinHashSecretBytes} bytes.");
        }

        if (!ApiKeyFormat.IsValidPrefix(options.Prefix))
        {
            errors.Add($"Keys:Prefix must be 1-{ApiKeyFormat.MaxPrefixLength} lower-case letters, digits and single dashes, not starting or ending with a dash.");
        }

        if (options.CacheTtl < TimeSpan.Zero || options.CacheTtl > TimeSpan.FromMinutes(5))
        {
            errors.Add("Keys:CacheTtl must be between 00:00:00 and 00:05:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
