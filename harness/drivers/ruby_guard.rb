# The loopback guard of the ruby driver (required by ruby_driver.rb): every connection
# the process makes (Socket#connect / #connect_nonblock, which Net::HTTP's Socket.tcp uses;
# TCPSocket.new) must go to a loopback address, and only IP literals and localhost may be
# looked up, so neither a misrouted endpoint nor a name lookup ever leaves the machine.
# A refusal raises ImdsHarnessGuard::Blocked, which is not a StandardError (the SDK's
# InstanceProfileCredentials rescues every StandardError), and is remembered in
# ImdsHarnessGuard.last, so the driver answers driver_error even if the SDK swallowed it.
require 'resolv'
require 'socket'

module ImdsHarnessGuard
  MARK = 'imds-harness blocked a connection'.freeze

  # Not a StandardError: the SDK's `rescue` (InstanceProfileCredentials#get_credentials
  # rescues everything into an empty document) must not swallow it.
  class Blocked < Exception; end # rubocop:disable Lint/InheritException

  @last = nil
  class << self
    attr_accessor :last

    # In a link-local cell the harness runs the process in a network namespace of the
    # cell's own and sets IMDS_HARNESS_NETNS, IMDS_HARNESS_HOST_NETNS and
    # IMDS_HARNESS_LINK_LOCAL; the listed 169.254.0.0/16 addresses are then allowed, but
    # only if this process's own namespace (/proc/self/ns/net) is the one named, is not
    # the harness's, and has no interface but lo (/proc/self/net/dev): the variables
    # alone never open anything. Returns [allowed addresses, why none].
    def link_local_allowed
      netns = ENV['IMDS_HARNESS_NETNS']
      listed = ENV['IMDS_HARNESS_LINK_LOCAL']
      return [[], 'not a link-local cell'] if netns.to_s.empty? || listed.to_s.empty?
      begin
        own = File.readlink('/proc/self/ns/net')
        ifaces = File.readlines('/proc/self/net/dev').drop(2).map { |l| l.split(':').first.strip }
      rescue SystemCallError => e
        return [[], "cannot read this process's network namespace: #{e.message}"]
      end
      if own != netns || own == ENV['IMDS_HARNESS_HOST_NETNS']
        return [[], "this process is in #{own}, not the cell's namespace #{netns}"]
      end
      return [[], "this namespace has interfaces #{ifaces.join(',')}, not only lo"] if ifaces != ['lo']
      allowed = listed.split(',').select { |a| a.match?(Resolv::IPv4::Regex) && a.start_with?('169.254.') }
      [allowed, "not one of the cell's link-local addresses"]
    end

    def link_local
      @link_local ||= link_local_allowed
    end

    def loopback?(addr)
      return true unless addr.ip?
      addr.ipv4_loopback? || addr.ipv6_loopback? || link_local[0].include?(addr.ip_address)
    end

    def check!(addr)
      addr = Addrinfo.new(addr) if addr.is_a?(String)
      return if loopback?(addr)
      why = addr.ip_address.start_with?('169.254.') ? " (link-local: #{link_local[1]})" : ''
      self.last = "#{MARK} to #{addr.ip_address}:#{addr.ip_port}: drivers may only reach the mocks on loopback#{why}"
      raise Blocked, last
    end

    # A name lookup goes to the resolver's servers: only IP literals and localhost are
    # looked up (the mocks are on loopback addresses), any other name is refused.
    def check_name!(host)
      return if host.nil? || host == 'localhost'
      text = host.to_s.delete_prefix('[').delete_suffix(']')
      return if text.match?(Resolv::IPv4::Regex) || text.match?(Resolv::IPv6::Regex)
      self.last = "#{MARK}: a name lookup of #{host}: drivers may only reach the mocks on loopback"
      raise Blocked, last
    end

    def check_host!(host, port)
      check_name!(host)
      return if host.nil? || host == 'localhost'
      Addrinfo.getaddrinfo(host, port, nil, :STREAM).each { |a| check!(a) }
    end

    def take
      value = last
      self.last = nil
      value
    end
  end

  module SocketConnect
    def connect(addr, *rest)
      ImdsHarnessGuard.check!(addr)
      super
    end

    def connect_nonblock(addr, *rest, **kw)
      ImdsHarnessGuard.check!(addr)
      super
    end
  end

  module NameLookup
    def getaddrinfo(host, *rest, **kw)
      ImdsHarnessGuard.check_name!(host)
      super
    end

    def foreach(host, *rest, **kw, &block)
      ImdsHarnessGuard.check_name!(host)
      super
    end
  end

  module TcpInit
    def initialize(host, port, *rest, **kw)
      ImdsHarnessGuard.check_host!(host, port)
      super
    end
  end
end
Socket.prepend(ImdsHarnessGuard::SocketConnect)
TCPSocket.prepend(ImdsHarnessGuard::TcpInit)
Addrinfo.singleton_class.prepend(ImdsHarnessGuard::NameLookup)
