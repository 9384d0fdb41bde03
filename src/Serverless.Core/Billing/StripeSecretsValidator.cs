using Microsoft.Extensions.Options;

namespace Serverless.Core.Billing;

/// <summary>Stripe's secrets are optional (export and webhooks stay off without them), but a placeholder is refused.</summary>
internal sealed class StripeSecretsValidator : IValidateOptions<StripeOptions>
{
    public ValidateOptionsResult Validate(string? name, StripeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new[]
        {
            SecretSetting.Problem("Stripe:ApiKey", options.ApiKey),
            SecretSetting.Problem("Stripe:WebhookSecret", options.WebhookSecret),
        }.OfType<string>().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
