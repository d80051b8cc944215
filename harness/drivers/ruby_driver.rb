# ruby driver for imds-harness: the AWS SDK for Ruby (Debian's aws-sdk-core 3.168.1,
# which carries Aws::STS::Client) behind the JSON-lines protocol of
# harness/src/driver/jsonl.rs.
#
# A client is Aws::STS::Client.new: it resolves credentials when it is built (the default
# chain; with the sanitised environment and empty AWS files it ends at
# Aws::InstanceProfileCredentials). Ruby has no session object, so new_session does
# nothing (session-retry is client-retry). The IMDS endpoint comes from
# AWS_EC2_METADATA_SERVICE_ENDPOINT, whose port this version ignores (it connects to
# port 80, measured): the harness gives each Ruby cell's mock its own 127.0.0.N:80, and
# this driver refuses any other port. The STS endpoint is set in code (`endpoint:`).
# Error kinds: the service's error code (ExpiredToken, ...) or the exception's class
# name (MissingCredentialsError, ...). Every connection to a non-loopback address is
# refused, and so is any name lookup (ruby_guard.rb); a refusal is answered as driver_error.
require 'json'
require 'time'
require 'uri'

require_relative 'ruby_guard'

require 'aws-sdk-core'

CALL_ID_HEADER = 'x-mock-imds-call-id'.freeze

def answer(obj)
  $stdout.write(JSON.generate(obj) + "\n")
  $stdout.flush
end

def error_of(exc)
  kind = exc.is_a?(Aws::Errors::ServiceError) && exc.code ? exc.code : exc.class.name.split('::').last
  { kind: kind.to_s, message: exc.message.to_s }
end

def guard_fault(exc = nil)
  blocked = ImdsHarnessGuard.take
  blocked ||= exc.message if exc && exc.message.to_s.include?(ImdsHarnessGuard::MARK)
  blocked && "the loopback guard blocked a connection (a misrouted endpoint): #{blocked}"
end

# The driver's settings (harness/src/driver/settings_ruby.rs) are Aws::STS::Client
# options of the same names.
CLIENT_OPTIONS = %w[instance_profile_credentials_retries instance_profile_credentials_timeout
                    retry_limit retry_mode max_attempts].freeze

settings = nil
client = nil
client_error = nil
current_call_id = nil

answer(ready: true, sdk: "ruby aws-sdk-core #{Aws::CORE_GEM_VERSION} (ruby #{RUBY_VERSION})")
$stdin.each_line do |line|
  line = line.strip
  next if line.empty?
  begin
    request = JSON.parse(line)
  rescue JSON::ParserError => e
    answer(driver_error: "request is not JSON: #{e.message}")
    next
  end
  begin
    case request['op']
    when 'configure'
      imds = URI.parse(request['imds_endpoint'])
      unless imds.port == 80
        answer(driver_error: "the IMDS endpoint #{request['imds_endpoint']} is not on port 80: aws-sdk-core #{Aws::CORE_GEM_VERSION} ignores the port of AWS_EC2_METADATA_SERVICE_ENDPOINT and would connect to #{imds.host}:80")
        next
      end
      settings = request
      srand(request['seed']) unless request['seed'].nil?
      ENV['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = "http://#{imds.host}"
      ENV['AWS_REGION'] = request['region']
      # The container credential provider's variables ([endpoint]), from the mock.
      (request['container_env'] || {}).each { |name, value| ENV[name] = value }
      answer(ok: true)
    when 'new_session'
      answer(ok: true)
    when 'new_client'
      if settings.nil?
        answer(driver_error: 'new_client before configure')
        next
      end
      client = nil
      client_error = nil
      options = { region: settings['region'], endpoint: settings['sts_endpoint'] }
      (settings['settings'] || {}).each do |name, value|
        options[name.to_sym] = value if CLIENT_OPTIONS.include?(name)
      end
      ImdsHarnessGuard.take
      begin
        client = Aws::STS::Client.new(**options)
      rescue ImdsHarnessGuard::Blocked => e
        answer(driver_error: guard_fault(e))
        next
      rescue StandardError => e
        fault = guard_fault(e)
        if fault
          answer(driver_error: fault)
          next
        end
        client_error = error_of(e)
        answer(error: client_error)
        next
      end
      fault = guard_fault
      if fault
        answer(driver_error: fault)
        next
      end
      client.handle_request { |context| context.http_request.headers[CALL_ID_HEADER] = current_call_id if current_call_id }
      creds = client.config.credentials
      answer(ok: true, credentials_resolved: !creds.nil? && creds.set?)
    when 'call'
      if client.nil?
        if client_error.nil?
          answer(driver_error: 'call before new_client')
        else
          answer(error: { kind: client_error[:kind], message: "no client: creating it raised: #{client_error[:message]}" })
        end
        next
      end
      current_call_id = request['call_id']
      ImdsHarnessGuard.take
      begin
        out = client.get_caller_identity
      rescue ImdsHarnessGuard::Blocked => e
        answer(driver_error: guard_fault(e))
        next
      rescue StandardError => e
        fault = guard_fault(e)
        answer(fault ? { driver_error: fault } : { error: error_of(e) })
        next
      ensure
        current_call_id = nil
      end
      fault = guard_fault
      if fault
        answer(driver_error: fault)
        next
      end
      creds = client.config.credentials
      key = creds && creds.set? ? creds.credentials.access_key_id : nil
      # The expiry the provider holds (RefreshingCredentials' @expiration) and the account
      # id where this aws-sdk-core's Credentials have one.
      expiration = creds.respond_to?(:expiration) ? creds.expiration : creds.instance_variable_get(:@expiration)
      inner = creds && creds.set? ? creds.credentials : nil
      account = inner.respond_to?(:account_id) ? inner.account_id : nil
      answer(arn: out.arn, access_key_id: key,
             expiration: expiration.respond_to?(:utc) ? expiration.utc.iso8601(3) : nil,
             account_id: account)
    when 'drop_client'
      client = nil
      answer(ok: true)
    else
      answer(driver_error: "unknown op #{request['op'].inspect}")
    end
  rescue Exception => e # rubocop:disable Lint/RescueException
    answer(driver_error: "#{e.class}: #{e.message}\n#{(e.backtrace || []).first(8).join("\n")}")
  end
end
