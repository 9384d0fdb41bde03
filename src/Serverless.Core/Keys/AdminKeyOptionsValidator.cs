using Microsoft.Extensions.Options;

namespace Serverless.Core.Keys;

internal sealed class AdminKeyOptionsValidator : IValidateOptions<AdminKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminKeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (SecretSetting.Problem("Admin:Key", options.Key) is { } problem)
        {
            return ValidateOptionsResult.Fail(problem);
        }

        return string.IsNullOrEmpty(options.Key) || options.Key.Length >= AdminKeyOptions.MinKeyLength
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Admin:Key must be at least {AdminKeyOptions.MinKeyLength} characters when set.");
    }
}
