"""Build metadata for calinet. Every value comes from settings.ini; edit that file, not this one."""
import shlex
from configparser import ConfigParser
from pathlib import Path
import setuptools

ini = ConfigParser(delimiters=['='])
ini.read('settings.ini', encoding='utf-8')
cfg = ini['DEFAULT']

NEEDED = ('lib_name lib_path version description keywords author author_email license '
          'status min_python audience language git_url user branch').split()
missing = [k for k in NEEDED if k not in cfg]
if missing: raise SystemExit(f'settings.ini is missing: {" ".join(missing)}')

SPDX = {'apache2': 'Apache-2.0', 'mit': 'MIT', 'bsd3': 'BSD-3-Clause',
        'gpl2': 'GPL-2.0-only', 'gpl3': 'GPL-3.0-only'}
STAGE = {'1': 'Planning', '2': 'Pre-Alpha', '3': 'Alpha', '4': 'Beta',
         '5': 'Production/Stable', '6': 'Mature', '7': 'Inactive'}
lib = cfg['lib_path']
def words(key): return shlex.split(cfg.get(key, '') or '')  # space-separated list in settings.ini
readme = Path('README.md')

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    keywords=cfg['keywords'], author=cfg['author'], author_email=cfg['author_email'],
    url=cfg['git_url'], license=SPDX.get(cfg['license'].lower(), cfg['license']),
    classifiers=[f"Development Status :: {cfg['status']} - {STAGE[cfg['status']]}",
                 f"Intended Audience :: {cfg['audience'].title()}",
                 f"Natural Language :: {cfg['language'].title()}",
                 f"Programming Language :: Python :: {cfg['min_python']}"],
    python_requires='>=' + cfg['min_python'],
    packages=setuptools.find_packages(include=[lib, lib + '.*']),  # keeps tests/, paper/ out
    include_package_data=True,
    package_data={lib: words('package_data')} if cfg.get('package_data') else {},
    install_requires=words('requirements'),
    extras_require={'dev': words('dev_requirements')},
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else cfg['description'],
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': words('console_scripts'),
                  'nbdev': [f'{lib}={lib}._modidx:d']},
)
