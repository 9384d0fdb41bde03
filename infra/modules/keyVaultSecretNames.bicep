// The names of the Key Vault secrets, shared by the module that writes them and the ones that reference them.
@export()
@description('Key Vault secret names, one per secret app setting.')
var keyVaultSecretNames = {
  keysHashSecret: 'keys-hash-secret'
  adminKey: 'admin-key'
  stripeApiKey: 'stripe-api-key'
  stripeWebhookSecret: 'stripe-webhook-secret'
  databaseConnectionString: 'database-connection-string'
}
